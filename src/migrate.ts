/**
 * `npm run db:migrate`            apply the committed migrations to DATABASE_URL
 * `npm run db:migration:new NAME` write the next migration from schema.prisma
 */
import { applyMigrations, createMigration, ensureDatabase } from './infra/prisma/migrator.js';
import { loadDotEnv } from './infra/config/dotenv.js';

async function main(): Promise<void> {
  loadDotEnv();
  const [command = 'deploy', name] = process.argv.slice(2);
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  if (command === 'deploy') {
    if (await ensureDatabase(url)) console.log(`created database ${new URL(url).pathname.slice(1)}`);
    const applied = await applyMigrations(url);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } else if (command === 'new') {
    if (!name) throw new Error('usage: npm run db:migration:new -- <name>');
    await ensureDatabase(url);
    const folder = await createMigration(url, name);
    console.log(folder ? `wrote ${folder}` : 'schema.prisma has no changes since the last migration');
  } else {
    throw new Error(`unknown command ${command}: use deploy or new`);
  }
}

// Exits when done: the WebAssembly schema engine leaves a 10 s timer behind.
main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
