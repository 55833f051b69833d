// Generates a migration from the difference between the entities and a scratch database that has
// every committed migration applied, writes it to migrations/ and appends it to migrations/index.ts.
// Usage: npm run migration:create [-- --name short_name]
import { readFileSync, writeFileSync } from 'node:fs';
import { MikroORM } from '@mikro-orm/postgresql';
import { ormConfig } from '../src/db/orm-config.js';
import { withScratchDatabase } from './scratch-database.js';

const nameArg = process.argv.indexOf('--name');
const name = nameArg > 0 ? process.argv[nameArg + 1] : undefined;

await withScratchDatabase(async (clientUrl) => {
  const orm = await MikroORM.init(ormConfig({ clientUrl }));
  try {
    await orm.migrator.up();
    const result = await orm.migrator.create('migrations', false, false, name);
    if (!result.fileName) {
      console.log('No changes: the entities match the migrations.');
      return;
    }
    const className = result.fileName.replace(/\.ts$/, '');
    const indexPath = 'migrations/index.ts';
    const index = readFileSync(indexPath, 'utf8');
    const withImport = index.replace(
      /(import type \{ MigrationObject \} from '@mikro-orm\/core';\n)/,
      `$1import { ${className} } from './${className}.js';\n`,
    );
    const updated = withImport.replace(
      /export const MIGRATIONS: MigrationObject\[\] = \[([\s\S]*?)\];/,
      (_m, body: string) => {
        const entries = body.trim()
          ? `${body.trimEnd()}\n  { name: '${className}', class: ${className} },\n`
          : `\n  { name: '${className}', class: ${className} },\n`;
        return `export const MIGRATIONS: MigrationObject[] = [${entries}];`;
      },
    );
    writeFileSync(indexPath, updated);
    console.log(`Created migrations/${result.fileName}:\n${result.diff.up.join('\n')}`);
  } finally {
    await orm.close(true);
  }
});
