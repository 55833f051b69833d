/**
 * A UUID in its canonical text form. Ids from clients are checked against it before they reach
 * SQL: a malformed id is simply not found (or a BAD_USER_INPUT where the field is an argument),
 * never a PostgreSQL cast error surfacing as INTERNAL_SERVER_ERROR.
 */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
