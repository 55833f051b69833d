import type { Server } from 'node:http';
import type { RequestHandler } from 'express';

/**
 * Drains the HTTP server on shutdown without losing a request it has started to read.
 *
 * Apollo's drain plugin (and `stoppable`, which it follows) calls `socket.end()` on keep-alive
 * sockets it thinks are idle; a request already on its way over such a socket is still parsed
 * and run after the FIN, and its response is then written to a closed socket: the server did
 * the work, the client got "other side closed" (our SIGTERM test saw exactly that). Instead:
 * `server.close()` stops accepting, and since Node 19 destroys connections whose parser has no
 * message in progress (`closeIdleConnections`): a request whose bytes the server has not read
 * never starts, so the client sees a clean connection error it can retry. Every response sent
 * while draining carries `Connection: close`, so busy keep-alive sockets end after their
 * in-flight request instead of taking another. After `graceMs`, what is left is cut.
 */
export function createHttpDrainer(server: Server) {
  let draining = false;
  const middleware: RequestHandler = (_req, res, next) => {
    if (draining) res.setHeader('connection', 'close');
    next();
  };
  return {
    middleware,
    /** True once `drain` has started: new responses close their connection. */
    get draining() {
      return draining;
    },
    async drain(graceMs: number): Promise<{ graceful: boolean }> {
      if (draining) return { graceful: true };
      draining = true;
      let graceful = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Sockets that finish a request while we wait are closed by `Connection: close`; this
      // catches ones that turned idle between the checks (belt and braces, it is cheap).
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const timer = setTimeout(() => {
        graceful = false;
        server.closeAllConnections();
      }, graceMs);
      try {
        await closed;
      } finally {
        clearInterval(sweep);
        clearTimeout(timer);
      }
      return { graceful };
    },
  };
}
