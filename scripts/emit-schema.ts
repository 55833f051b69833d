// Writes schema.graphql from the code-first schema (type-graphql). With --check, fails instead
// when the committed file differs from what the code produces (CI runs that).
import 'reflect-metadata';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { createSchema } from '../src/graphql/schema.js';

// No services: the printed schema does not depend on how it is wired.
const schema = await createSchema(undefined, { maxPageSize: 100 });
const sdl = `# Generated from the code by \`npm run schema\`: do not edit by hand.\n\n${printSchema(lexicographicSortSchema(schema))}\n`;

if (process.argv.includes('--check')) {
  const current = existsSync('schema.graphql') ? readFileSync('schema.graphql', 'utf8') : '';
  if (current !== sdl) {
    console.error('schema.graphql is stale: run `npm run schema` and commit the result.');
    process.exit(1);
  }
  console.log('schema.graphql is up to date');
} else {
  writeFileSync('schema.graphql', sdl);
  console.log('wrote schema.graphql');
}
