/**
 * Migrations without the Prisma CLI's native schema engine.
 *
 * The Prisma CLI downloads a native `schema-engine` binary on first use; machines
 * without internet cannot get it. Prisma ships the same engine as WebAssembly
 * (`@prisma/schema-engine-wasm`), driven here through the pg driver adapter.
 * Migrations are the ordinary `prisma/migrations/<stamp>_<name>/migration.sql`
 * folders and are recorded in `_prisma_migrations`, so `prisma migrate deploy`
 * on a machine with internet sees the same history.
 *
 * Writing a migration diffs two schema files (no database needed): the snapshot
 * of schema.prisma stored beside the newest migration, and the current one.
 */
import { readFile, readdir, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { DiffTarget, SchemaEngine as WasmSchemaEngine } from '@prisma/schema-engine-wasm';
import type * as WasmBindings from '@prisma/schema-engine-wasm/schema_engine_bg';

/**
 * `prisma/` of the installation this file belongs to, found from the file's own
 * location (src/infra/prisma/ or dist/infra/prisma/, three levels below the
 * root), not from the working directory: `node dist/migrate.js deploy` run
 * from any folder applies this program's migrations.
 */
export const PRISMA_DIR = fileURLToPath(new URL('../../../prisma', import.meta.url));
export const SCHEMA_FILE = path.join(PRISMA_DIR, 'schema.prisma');
export const MIGRATIONS_DIR = path.join(PRISMA_DIR, 'migrations');
/** Copy of schema.prisma as it stood after a migration, kept in its folder. */
const SNAPSHOT_FILE = 'schema.prisma';
const NO_FILTERS = { externalTables: [], externalEnums: [] };

type Engine = WasmSchemaEngine;

type Bindings = typeof WasmBindings;
let wasmReady: Promise<Bindings> | undefined;

/** The package is built for bundlers; instantiate its WebAssembly by hand. */
function loadWasm(): Promise<Bindings> {
  wasmReady ??= (async () => {
    const bindings = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const require = createRequire(import.meta.url);
    const wasmFile = path.join(
      path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')),
      'schema_engine_bg.wasm',
    );
    const { instance } = await WebAssembly.instantiate(await readFile(wasmFile), {
      './schema_engine_bg.js': bindings as unknown as WebAssembly.ModuleImports,
    });
    const exports = instance.exports as { __wbindgen_start: () => void };
    bindings.__wbg_set_wasm(exports);
    exports.__wbindgen_start();
    return bindings;
  })();
  return wasmReady;
}

async function withEngine<T>(
  connectionString: string,
  schemaText: string,
  run: (engine: Engine) => Promise<T>,
): Promise<T> {
  const { SchemaEngine } = await loadWasm();
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString }));
  const log = (): void => undefined;
  const engine = await SchemaEngine.new({ datamodels: [['schema.prisma', schemaText]] }, log, adapter);
  try {
    return await run(engine);
  } finally {
    engine.free();
  }
}

export interface MigrationFolder {
  name: string;
  sql: string;
}

export async function listMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFolder[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true });
  const folders = entries
    .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, 'migration.sql')))
    .map((e) => e.name)
    .sort();
  return Promise.all(
    folders.map(async (name) => ({
      name,
      sql: await readFile(path.join(dir, name, 'migration.sql'), 'utf8'),
    })),
  );
}

/** Creates the database named in the URL when it does not exist yet. */
export async function ensureDatabase(connectionString: string): Promise<boolean> {
  const url = new URL(connectionString);
  const database = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount) return false;
    await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
    return true;
  } finally {
    await client.end();
  }
}

/**
 * Applies the pending migrations; returns the names of those applied now.
 * Throws when `dir` holds no migration at all: a wrong folder must not look
 * like an up-to-date database.
 */
export async function applyMigrations(connectionString: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await listMigrations(dir);
  if (migrations.length === 0) {
    throw new Error(`no migrations found in ${dir} (expected <stamp>_<name>/migration.sql folders)`);
  }
  const lockPath = path.join(dir, 'migration_lock.toml');
  const schemaFile = path.join(dir, '..', 'schema.prisma');
  const schemaText = existsSync(schemaFile) ? await readFile(schemaFile, 'utf8') : '';
  return withEngine(connectionString, schemaText, async (engine) => {
    const out = await engine.applyMigrations({
      migrationsList: {
        baseDir: dir,
        lockfile: {
          path: 'migration_lock.toml',
          content: existsSync(lockPath) ? await readFile(lockPath, 'utf8') : null,
        },
        shadowDbInitScript: '',
        migrationDirectories: migrations.map((m) => ({
          path: m.name,
          migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: m.sql } },
        })),
      },
      filters: NO_FILTERS,
    });
    return out.appliedMigrationNames;
  });
}

/**
 * SQL that turns a database shaped by `from` (null: an empty database) into one
 * shaped by `to`. Pure schema-to-schema: the connection is only the engine's
 * flavour, no table is read.
 */
export async function diffSchemas(connectionString: string, from: string | null, to: string): Promise<string> {
  return withEngine(connectionString, to, async (engine) => {
    const target = (content: string): DiffTarget => ({
      tag: 'schemaDatamodel',
      files: [{ path: 'schema.prisma', content }],
    });
    const result = await engine.diff({
      from: from === null ? { tag: 'empty' } : target(from),
      to: target(to),
      script: true,
      exitCode: null,
      filters: NO_FILTERS,
    });
    return result.stdout ?? '';
  });
}

/** Writes the next migration from the change to schema.prisma; null when nothing changed. */
export async function createMigration(
  connectionString: string,
  name: string,
  { schemaFile = SCHEMA_FILE, migrationsDir = MIGRATIONS_DIR } = {},
): Promise<string | null> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error('migration name: use lowercase letters, digits and _');
  const migrations = await listMigrations(migrationsDir);
  const last = migrations.at(-1);
  const snapshotPath = last ? path.join(migrationsDir, last.name, SNAPSHOT_FILE) : undefined;
  if (snapshotPath && !existsSync(snapshotPath)) {
    throw new Error(`${snapshotPath} is missing: it holds the schema the newest migration produces`);
  }
  const previous = snapshotPath ? await readFile(snapshotPath, 'utf8') : null;
  const current = await readFile(schemaFile, 'utf8');
  const sql = await diffSchemas(connectionString, previous, current);
  if (!/\S/.test(sql.replace(/^--.*$/gm, ''))) return null;
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const folder = path.join(migrationsDir, `${stamp}_${name}`);
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'migration.sql'), sql);
  await writeFile(path.join(folder, SNAPSHOT_FILE), current);
  const lockPath = path.join(migrationsDir, 'migration_lock.toml');
  if (!existsSync(lockPath)) {
    await writeFile(
      lockPath,
      '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
    );
  }
  return folder;
}
