import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import express, { type Router } from 'express';

/** The package root: the nearest folder up from here with a package.json (src/ or dist/src/). */
function packageRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** Where `npm run build:playground` (scripts/build-playground.mjs) writes the bundle. */
export const PLAYGROUND_DIR = join(packageRoot(import.meta.dirname), 'playground/dist');

/**
 * GraphiQL, served by the API itself: `GET /graphql` from a browser (it asks for text/html) gets
 * the page; its script and styles come from `/playground/`. Everything is bundled from npm at
 * install time, so the page makes no request outside this server. GraphQL-over-HTTP GETs (which
 * ask for JSON) fall through to Apollo.
 */
export function playgroundRoutes(options: { dir?: string } = {}): Router {
  const dir = options.dir ?? PLAYGROUND_DIR;
  const router = express.Router();
  router.get('/graphql', (req, res, next) => {
    if (req.accepts(['application/json', 'application/graphql-response+json', 'text/html']) !== 'text/html') {
      return next();
    }
    const page = join(dir, 'index.html');
    if (!existsSync(page)) {
      res.status(503).type('text/plain').send('The playground is not built: run `npm run build:playground`.\n');
      return;
    }
    res.sendFile(page, { headers: { 'cache-control': 'no-cache' } });
  });
  router.use('/playground', express.static(dir, { index: false, maxAge: '1h', fallthrough: false }));
  return router;
}
