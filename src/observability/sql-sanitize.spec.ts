import { MAX_SQL_TEXT, sanitizeSql } from './sql-sanitize.js';

describe('sanitizeSql', () => {
  it('replaces string and number literals, keeping identifiers and placeholders', () => {
    expect(
      sanitizeSql(
        `select "u0"."id", "t2" from "users" as "u0" where "u0"."email" = 'a@b.test' and "u0"."n" > 42 limit 1`,
      ),
    ).toBe(`select "u0"."id", "t2" from "users" as "u0" where "u0"."email" = ? and "u0"."n" > ? limit ?`);
    expect(sanitizeSql('update "p" set "cost" = 0.0020000000, "x" = $1 where "id" = $2')).toBe(
      'update "p" set "cost" = ?, "x" = $1 where "id" = $2',
    );
  });

  it('handles escaped quotes, E-strings, dollar quoting and exponents', () => {
    expect(sanitizeSql(`insert into t values ('it''s', E'a\\'b', $$raw ' text$$, $tag$x$tag$, 1.5e10)`)).toBe(
      'insert into t values (?, ?, ?, ?, ?)',
    );
  });

  it('keeps a tensor out, however long the statement', () => {
    const data = Array.from({ length: 5000 }, (_, i) => i * 0.5).join(',');
    const text = sanitizeSql(`insert into "predictions" ("inputs") values ('{"data":[${data}]}')`);
    expect(text).toBe('insert into "predictions" ("inputs") values (?)');
    expect(sanitizeSql(`select ${'"a", '.repeat(1000)}"b"`).length).toBe(MAX_SQL_TEXT + 1);
  });
});
