import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { buildSchema } from 'graphql';

/**
 * The baselines' "bare Apollo Server": the committed SDL, Express 5 with its JSON parser and
 * Apollo's middleware, nothing else (no auth, no plugins, no database). `rootValue`'s properties
 * answer the root fields through graphql-js's default resolvers: a captured response from memory,
 * or a function that does only the work the baseline is allowed (decoding the request's tensors).
 */
export async function startBareApollo(rootValue: Record<string, unknown>) {
  const sdl = readFileSync(join(import.meta.dirname, '../../schema.graphql'), 'utf8');
  const apollo = new ApolloServer({ schema: buildSchema(sdl), rootValue, stopOnTerminationSignals: false });
  await apollo.start();
  const app = express();
  app.use('/graphql', express.json({ limit: '10mb' }), expressMiddleware(apollo, { context: async () => ({}) }));
  const http = createServer(app);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    async close() {
      await apollo.stop();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** The bare server's `predict`: decodes every b64 input (the work a server cannot skip), returns `answer`. */
export function decodingPredict(answer: unknown) {
  return {
    predict(args: { inputs: { b64?: string | null; data?: unknown[] | null }[] }) {
      let decoded = 0;
      for (const input of args.inputs) {
        decoded += input.b64 ? Buffer.from(input.b64, 'base64').byteLength : (input.data?.length ?? 0);
      }
      if (decoded === 0) throw new Error('nothing decoded');
      return answer;
    },
  };
}
