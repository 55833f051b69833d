// `npm run migrate`: applies pending migrations to the configured database.
import 'reflect-metadata';
import { loadConfig } from '../src/config.js';
import { openDatabase, migrate } from '../src/db/database.js';

const config = loadConfig();
const db = await openDatabase(config, () => {});
try {
  const applied = await migrate(db.orm);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'no pending migrations');
} finally {
  await db.close();
}
