import type { WebSocket } from 'ws';

/** What a client may send in graphql-transport-ws (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md). */
const CLIENT_MESSAGE_TYPES = new Set(['connection_init', 'ping', 'pong', 'subscribe', 'complete']);

/**
 * Closes a socket with 4400 when its client sends a message type only a server may send
 * (`connection_ack`, `next`, `error`). graphql-ws parses those as valid messages and then throws
 * on them in its handler, which its `ws` glue reports as 4500 "Internal server error" with a
 * console.error — a client's protocol error shown as our fault (found by the abuse corpus,
 * test/chaos/abuse-ownership.chaos.test.ts). Call it on 'connection' before `useServer` attaches
 * its own listener: the listener graphql-ws adds for 'message' is wrapped, so such a message
 * never reaches it. Anything else — malformed JSON included — is left to graphql-ws, which
 * already answers 4400 for it.
 */
export function refuseServerMessagesFromClient(socket: WebSocket): void {
  const on = socket.on.bind(socket) as (event: string, listener: (...args: unknown[]) => void) => WebSocket;
  socket.on = ((event: string, listener: (...args: unknown[]) => void) => {
    if (event !== 'message') return on(event, listener);
    return on('message', (data: unknown, ...rest: unknown[]) => {
      const type = messageType(data);
      if (type !== undefined && !CLIENT_MESSAGE_TYPES.has(type)) {
        socket.close(4400, `A client may not send a '${type.slice(0, 40)}' message`);
        return;
      }
      listener(data, ...rest);
    });
  }) as typeof socket.on;
}

/** The `type` of a JSON message, when it is one with a string type; undefined otherwise. */
function messageType(data: unknown): string | undefined {
  try {
    const parsed: unknown = JSON.parse(String(data));
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { type?: unknown }).type === 'string') {
      return (parsed as { type: string }).type;
    }
  } catch {
    // Not JSON: graphql-ws closes it with 4400 itself.
  }
  return undefined;
}
