import type { TensorSpecJson, VersionMetadataJson } from '../entities/model-version.entity.js';
import type { TensorInputLike } from '../inference/tensor-codec.js';
import { validateAndDecodeInputs } from '../inference/tensor-validation.js';
import { badInput } from '../shared/errors.js';

/** What a publisher says about one input: what it is, how to prepare it, an example. */
export type InputMetadataInput = {
  name: string;
  description?: string | null;
  preprocessing?: string | null;
  example?: TensorInputLike | null;
};

/** What a publisher says about one output: what it is, and the names of its classes. */
export type OutputMetadataInput = { name: string; description?: string | null; labels?: readonly string[] | null };

export type VersionMetadataInput = {
  inputs?: readonly InputMetadataInput[] | null;
  outputs?: readonly OutputMetadataInput[] | null;
};

const MAX_TEXT = 2000;
const MAX_LABELS = 100_000;
const MAX_LABEL = 200;
/** An example is documentation, not a payload: small enough to show in a catalog page. */
const MAX_EXAMPLE_BYTES = 64 * 1024;

function text(value: string | null | undefined, field: string): string | undefined {
  const t = value?.trim();
  if (!t) return undefined;
  if (t.length > MAX_TEXT) throw badInput(`${field} must be at most ${MAX_TEXT} characters`, { field });
  return t;
}

function byName<T extends { name: string }>(
  items: readonly T[] | null | undefined,
  signature: readonly TensorSpecJson[],
  kind: 'input' | 'output',
): [T, TensorSpecJson][] {
  const seen = new Set<string>();
  return (items ?? []).map((item) => {
    const spec = signature.find((s) => s.name === item.name);
    if (!spec) {
      throw badInput(
        `the model has no ${kind} named "${item.name.slice(0, 100)}"; its ${kind}s are ${signature.map((s) => `"${s.name}"`).join(', ')}`,
        { field: `${kind}s` },
      );
    }
    if (seen.has(item.name)) throw badInput(`${kind} "${item.name}" is described twice`, { field: `${kind}s` });
    seen.add(item.name);
    return [item, spec];
  });
}

/**
 * Checks a publisher's description of a version against its signature and returns what is
 * stored: every name must be one of the version's inputs or outputs; an example must be a valid
 * input for it (dtype, shape, values: the same check a prediction gets) and small; labels must
 * number as many as the output's last dimension when that dimension is fixed (a classifier's
 * logits [N, 10] take 10 labels).
 *
 * @throws AppError BAD_USER_INPUT naming the field.
 */
export function checkVersionMetadata(
  input: VersionMetadataInput,
  signature: { inputs: readonly TensorSpecJson[]; outputs: readonly TensorSpecJson[] },
): VersionMetadataJson {
  const inputs: VersionMetadataJson['inputs'] = {};
  for (const [item, spec] of byName(input.inputs, signature.inputs, 'input')) {
    const entry: VersionMetadataJson['inputs'][string] = {};
    const description = text(item.description, `inputs.${spec.name}.description`);
    const preprocessing = text(item.preprocessing, `inputs.${spec.name}.preprocessing`);
    if (description) entry.description = description;
    if (preprocessing) entry.preprocessing = preprocessing;
    if (item.example) {
      const example = { ...item.example, name: spec.name };
      validateAndDecodeInputs([example], [spec], { maxRequestBytes: MAX_EXAMPLE_BYTES });
      entry.example = {
        dtype: example.dtype,
        shape: [...example.shape],
        ...(example.b64
          ? { b64: example.b64 }
          : { data: Array.isArray(example.data) ? [...(example.data as unknown[])] : [] }),
      };
    }
    inputs[spec.name] = entry;
  }
  const outputs: VersionMetadataJson['outputs'] = {};
  for (const [item, spec] of byName(input.outputs, signature.outputs, 'output')) {
    const entry: VersionMetadataJson['outputs'][string] = {};
    const description = text(item.description, `outputs.${spec.name}.description`);
    if (description) entry.description = description;
    if (item.labels) {
      const field = `outputs.${spec.name}.labels`;
      if (item.labels.length > MAX_LABELS) throw badInput(`at most ${MAX_LABELS} labels`, { field });
      if (item.labels.some((l) => l.length === 0 || l.length > MAX_LABEL)) {
        throw badInput(`every label must be 1 to ${MAX_LABEL} characters`, { field });
      }
      const last = spec.shape.at(-1);
      if (last !== undefined && /^\d+$/.test(last) && Number(last) !== item.labels.length) {
        throw badInput(
          `${item.labels.length} labels given; output "${spec.name}" has ${last} classes (shape [${spec.shape.join(', ')}])`,
          { field },
        );
      }
      entry.labels = [...item.labels];
    }
    outputs[spec.name] = entry;
  }
  return { inputs, outputs };
}

/** The signature with what its publisher said about each tensor, for the GraphQL TensorSpec. */
export function describedSignature(
  signature: readonly TensorSpecJson[],
  described: Record<string, object> | undefined,
): (TensorSpecJson & Record<string, unknown>)[] {
  return signature.map((s) => ({ ...s, ...(described?.[s.name] ?? {}) }));
}
