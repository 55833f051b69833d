import { parse } from 'graphql';
import { assertNoNulCharacters } from './nul-characters.js';

const doc = () => parse('query Q($v: JSON) { f(v: $v) }');

describe('assertNoNulCharacters', () => {
  it('finds a NUL in a string inside arrays and objects, and in a key', () => {
    expect(() => assertNoNulCharacters(doc(), { a: [1, 2, [3, { b: ['ok', 'bad\u0000'] }]] })).toThrow(/NUL/);
    expect(() => assertNoNulCharacters(doc(), { ['k\u0000']: 1 })).toThrow(/NUL/);
    expect(() => assertNoNulCharacters(parse('{ f(s: "x\\u0000") }'), {})).toThrow(/NUL/);
  });

  it('passes clean variables, a million-element numeric tensor included', () => {
    const data = Array.from({ length: 1_000_000 }, (_, i) => i / 7);
    expect(() =>
      assertNoNulCharacters(doc(), { inputs: [{ name: 'x', shape: [1, data.length], data }] }),
    ).not.toThrow();
  });
});
