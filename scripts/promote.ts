// `npm run promote -- --email <email> --role ADMIN`: sets a user's role, with the same database
// settings as the server (DATABASE_URL, or the embedded database under DATA_DIR: stop a server
// that runs on the embedded database first, it holds the data folder).
import 'reflect-metadata';
import { parsePromoteArgs, setUserRole } from '../src/auth/promote.js';
import { loadConfig } from '../src/config.js';
import { migrate, openDatabase } from '../src/db/database.js';

let args;
try {
  args = parsePromoteArgs(process.argv.slice(2));
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
const config = loadConfig();
const db = await openDatabase(config, () => {});
try {
  if (db.embedded) await migrate(db.orm);
  const result = await setUserRole(db.orm.em.fork(), args);
  console.log(`${args.email}: ${result.from} -> ${result.to} (user ${result.id})`);
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
} finally {
  await db.close();
}
