import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { GraphQLResponse } from '../support/test-server.js';

/**
 * A GraphQL multipart request built by hand, as the spec lays it out
 * (https://github.com/jaydenseric/graphql-multipart-request-spec): an `operations` part with the
 * file variable set to null, a `map` part naming where each file goes, then the file parts.
 */
export async function postMultipart<TData, TVars extends Record<string, unknown>>(
  origin: string,
  document: TypedDocumentNode<TData, TVars>,
  variables: Omit<TVars, 'file'>,
  file: { bytes: Uint8Array | Blob; filename: string },
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<TData> & { status: number }> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: print(document), variables: { ...variables, file: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  const blob = file.bytes instanceof Blob ? file.bytes : new Blob([file.bytes], { type: 'application/octet-stream' });
  form.append('0', blob, file.filename);
  const res = await fetch(`${origin}/graphql`, {
    method: 'POST',
    // Apollo's CSRF prevention refuses multipart requests without a preflight-forcing header.
    headers: { 'apollo-require-preflight': 'true', ...headers },
    body: form,
  });
  const body = (await res.json()) as GraphQLResponse<TData>;
  return { ...body, status: res.status };
}
