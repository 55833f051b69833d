import { decodeCursor, encodeCursor, pageSize, toPage } from './pagination.js';
import { AppError } from './errors.js';

describe('cursors', () => {
  it('round-trips values for the same kind', () => {
    const c = encodeCursor('NEWEST', ['2026-01-01T00:00:00.000Z', 'abc']);
    expect(decodeCursor(c, 'NEWEST', 2)).toEqual(['2026-01-01T00:00:00.000Z', 'abc']);
  });

  it.each([
    ['garbage', 'not base64 json at all!'],
    ['other kind', encodeCursor('TOP_RATED', [1, 'x'])],
    ['wrong arity', encodeCursor('NEWEST', ['x'])],
    ['object payload', Buffer.from('{"a":1}').toString('base64url')],
    ['huge', 'A'.repeat(5000)],
  ])('refuses %s with BAD_USER_INPUT', (_name, cursor) => {
    try {
      decodeCursor(cursor, 'NEWEST', 2);
      throw new Error('expected a refusal');
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe('BAD_USER_INPUT');
    }
  });
});

describe('pageSize', () => {
  it('defaults, caps and refuses negatives', () => {
    expect(pageSize(undefined, 100)).toBe(20);
    expect(pageSize(0, 100)).toBe(0);
    expect(() => pageSize(101, 100)).toThrow(/at most 100/);
    expect(() => pageSize(-1, 100)).toThrow(AppError);
  });
});

describe('toPage', () => {
  it('uses the extra row only to say there is a next page', async () => {
    let counted = 0;
    const page = toPage(
      [1, 2, 3],
      2,
      (n) => `c${n}`,
      () => ++counted,
      false,
    );
    expect(page.edges.map((e) => e.node)).toEqual([1, 2]);
    expect(page.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: 'c1', endCursor: 'c2' });
    expect(counted).toBe(0);
    expect(await page.totalCount).toBe(1);
    expect(await page.totalCount).toBe(1);
  });
});
