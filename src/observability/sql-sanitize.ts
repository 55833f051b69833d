/** Longest statement text a span keeps: enough to recognise the statement, not a payload. */
export const MAX_SQL_TEXT = 2000;

/**
 * A statement's text with its literal values replaced by `?`, as the database semantic
 * conventions ask of `db.query.text` (https://opentelemetry.io/docs/specs/semconv/database/database-spans/#sanitization-of-dbquerytext).
 * MikroORM inlines values into some statements (`where "u0"."id" = '…'`), and a span must not
 * carry an email, a token hash or a tensor: quoted strings (with `''` escapes, E'…' and
 * dollar-quoted bodies) and numbers go; identifiers in double quotes and `$1` placeholders stay.
 */
export function sanitizeSql(text: string): string {
  const out = text
    .replace(/\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g, '?')
    .replace(/\b[Ee]'(?:[^'\\]|\\.|'')*'/g, '?')
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/("(?:[^"]|"")*")|(\$\d+)|\b\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b/g, (m, ident: string, param: string) =>
      ident || param ? m : '?',
    );
  return out.length > MAX_SQL_TEXT ? `${out.slice(0, MAX_SQL_TEXT)}…` : out;
}
