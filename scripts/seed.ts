// `npm run seed`: loads the demo catalog into the configured database (idempotent).
import 'reflect-metadata';
import { loadConfig } from '../src/config.js';
import { openDatabase, migrate } from '../src/db/database.js';
import { seedDemoCatalog } from '../src/catalog/seed.js';
import { LocalModelStorage } from '../src/storage/model-storage.js';

const config = loadConfig();
const db = await openDatabase(config, () => {});
try {
  if (db.embedded) await migrate(db.orm);
  const report = await seedDemoCatalog(db.orm.em.fork(), new LocalModelStorage(config.modelStorageDir));
  console.log(`seeded: ${JSON.stringify(report)}`);
} finally {
  await db.close();
}
