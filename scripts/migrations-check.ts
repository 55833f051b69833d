// Fails when the entities and the committed migrations disagree: applies every migration to a
// scratch database, then asks MikroORM's schema comparator what it would still change.
import { MikroORM } from '@mikro-orm/postgresql';
import { ormConfig } from '../src/db/orm-config.js';
import { withScratchDatabase } from './scratch-database.js';

const drift = await withScratchDatabase(async (clientUrl) => {
  const orm = await MikroORM.init(ormConfig({ clientUrl }));
  try {
    await orm.migrator.up();
    return (await orm.schema.getUpdateSchemaSQL({ wrap: false })).trim();
  } finally {
    await orm.close(true);
  }
});

if (drift) {
  console.error('Entities and migrations disagree. Run `npm run migration:create` and review the result.\n');
  console.error(drift);
  process.exit(1);
}
console.log('migrations: entities and migrations agree');
