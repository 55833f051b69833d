import { badInput } from '../shared/errors.js';
import type { SignatureSpec } from './tensor-validation.js';

/**
 * The outputs a request asks for (`outputs: [...]`), checked against the version's signature and
 * put in its order; null or absent means all of them. A 12-output model then ships only what the
 * client reads: the rest never leaves the worker (no copy, pipe, encoding or response bytes).
 *
 * @throws AppError BAD_USER_INPUT for an empty list or a name the model does not have.
 */
export function selectOutputs(
  signature: readonly SignatureSpec[],
  requested: readonly string[] | null | undefined,
): readonly string[] | undefined {
  if (requested === null || requested === undefined) return undefined;
  if (requested.length === 0) {
    throw badInput('outputs is empty: name at least one output, or leave it out for all of them', {
      field: 'outputs',
    });
  }
  const names = signature.map((o) => o.name);
  const unknown = [...new Set(requested.filter((r) => !names.includes(r)))];
  if (unknown.length) {
    const list = unknown
      .slice(0, 5)
      .map((u) => `"${u.length > 100 ? `${u.slice(0, 100)}…` : u}"`)
      .join(', ');
    throw badInput(`no output named ${list}; the model's outputs are ${names.map((n) => `"${n}"`).join(', ')}`, {
      field: 'outputs',
      unknown: unknown.slice(0, 5),
    });
  }
  const wanted = new Set(requested);
  // All of them, in order: the same run as no selection (and the same batches).
  if (wanted.size === names.length) return undefined;
  return names.filter((n) => wanted.has(n));
}
