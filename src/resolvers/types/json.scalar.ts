// `JSON`: any JSON value. Tensor data is a flat array of numbers, strings or booleans depending
// on the dtype (int64 as strings beyond 2^53, "NaN"/"Infinity" for non-finite floats), which no
// single GraphQL list type can express; the tensor codec checks every element instead.
export { JSONResolver as JSONScalar } from 'graphql-scalars';
