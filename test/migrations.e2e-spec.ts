import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { appendFile, cp, mkdtemp, readFile, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { applyMigrations, createMigration, diffSchemas, SCHEMA_FILE } from '../src/infra/prisma/migrator.js';
import { createTestDatabase, type TestDatabase } from './support/env.js';
import { ROOT, runNode } from './support/processes.js';

/** Checks written by hand into migrations (the Prisma schema language has no CHECK). */
const HAND_WRITTEN_CHECKS = [
  'inventory.inventory_available_check CHECK ((available >= 0))',
  'orders.orders_quantity_check CHECK ((quantity > 0))',
  'sales.sales_stock_check CHECK ((stock >= 0))',
];

interface Catalog {
  columns: string[];
  indexes: string[];
  constraints: string[];
  enums: string[];
  checks: string[];
}

async function catalog(url: string): Promise<Catalog> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const rows = async (sql: string): Promise<string[]> => (await client.query<{ r: string }>(sql)).rows.map((x) => x.r);
  try {
    return {
      columns: await rows(`
        SELECT concat_ws(' ', table_name, column_name, data_type, udt_name, is_nullable, column_default,
                         character_maximum_length, datetime_precision) AS r
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY 1`),
      indexes: await rows(`
        SELECT indexdef AS r FROM pg_indexes
        WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY 1`),
      constraints: await rows(`
        SELECT concat_ws(' ', c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)) AS r
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = 'public' AND c.contype <> 'c' AND c.conrelid::regclass::text <> '_prisma_migrations'
        ORDER BY 1`),
      checks: await rows(`
        SELECT concat_ws(' ', c.conrelid::regclass::text || '.' || c.conname, pg_get_constraintdef(c.oid)) AS r
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = 'public' AND c.contype = 'c' ORDER BY 1`),
      enums: await rows(`
        SELECT t.typname || ': ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS r
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname ORDER BY 1`),
    };
  } finally {
    await client.end();
  }
}

async function execute(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('migrations', () => {
  let migrated: TestDatabase;
  let fromSchema: TestDatabase;

  beforeAll(async () => {
    migrated = await createTestDatabase('mig_a', false);
    fromSchema = await createTestDatabase('mig_b', false);
  });

  afterAll(async () => {
    await migrated.drop();
    await fromSchema.drop();
  });

  it('produce exactly the schema that schema.prisma describes (drift check)', async () => {
    const applied = await applyMigrations(migrated.url);
    expect(applied.length).toBeGreaterThan(0);
    const sql = await diffSchemas(fromSchema.url, null, await readFile(SCHEMA_FILE, 'utf8'));
    await execute(fromSchema.url, sql);

    const fromMigrations = await catalog(migrated.url);
    const fromDatamodel = await catalog(fromSchema.url);
    expect(fromMigrations.columns).toEqual(fromDatamodel.columns);
    expect(fromMigrations.indexes).toEqual(fromDatamodel.indexes);
    expect(fromMigrations.constraints).toEqual(fromDatamodel.constraints);
    expect(fromMigrations.enums).toEqual(fromDatamodel.enums);
    expect(fromMigrations.checks).toEqual(HAND_WRITTEN_CHECKS);
  });

  it('apply once: a second run applies nothing and records each in _prisma_migrations', async () => {
    expect(await applyMigrations(migrated.url)).toEqual([]);
    const client = new pg.Client({ connectionString: migrated.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ migration_name: string; finished_at: Date | null }>(
        'SELECT migration_name, finished_at FROM _prisma_migrations',
      );
      const folders = (await readdir(path.resolve('prisma/migrations'), { withFileTypes: true }))
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
      expect(rows.map((r) => r.migration_name).sort()).toEqual(folders.sort());
      expect(rows.every((r) => r.finished_at !== null)).toBe(true);
    } finally {
      await client.end();
    }
  });

  it('writes the next migration from a change to schema.prisma, and nothing when unchanged', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fs-prisma-'));
    try {
      await cp(path.resolve('prisma'), dir, { recursive: true });
      const paths = { schemaFile: path.join(dir, 'schema.prisma'), migrationsDir: path.join(dir, 'migrations') };
      expect(await createMigration(fromSchema.url, 'nothing', paths)).toBeNull();

      await appendFile(paths.schemaFile, '\nmodel Coupon {\n  code String @id\n  percent Int\n}\n');
      const folder = await createMigration(fromSchema.url, 'add_coupon', paths);
      expect(folder).not.toBeNull();
      const sql = await readFile(path.join(folder!, 'migration.sql'), 'utf8');
      expect(sql).toMatch(/CREATE TABLE "Coupon"/);
      expect(sql).not.toMatch(/CREATE TABLE "users"/);
      expect(await readFile(path.join(folder!, 'schema.prisma'), 'utf8')).toContain('model Coupon');

      // The new folder applies on top of the committed ones.
      const scratch = await createTestDatabase('mig_c', false);
      try {
        const applied = await applyMigrations(scratch.url, paths.migrationsDir);
        expect(applied.at(-1)).toBe(path.basename(folder!));
      } finally {
        await scratch.drop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('are laid out as the Prisma CLI reads them (prisma migrate deploy, where its engine can be fetched)', async () => {
    const dir = path.join(ROOT, 'prisma/migrations');
    // The CLI reads migration_lock.toml, then <folder>/migration.sql of every folder, in name order;
    // other files in a folder (our schema.prisma snapshots) it leaves alone.
    const lock = await readFile(path.join(dir, 'migration_lock.toml'), 'utf8');
    expect(lock).toMatch(/^provider = "postgresql"$/m);
    expect(await readFile(SCHEMA_FILE, 'utf8')).toMatch(/datasource db \{\s*provider = "postgresql"\s*\}/);
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      if (e.isDirectory()) {
        expect(e.name).toMatch(/^\d{14}_[a-z0-9_]+$/);
        expect(await readdir(path.join(dir, e.name))).toContain('migration.sql');
      } else expect(e.name).toBe('migration_lock.toml');
    }
    // Prisma 7's CLI takes the schema, the migrations and the database URL from prisma.config.mjs.
    const { default: config } = (await import(path.join(ROOT, 'prisma.config.mjs'))) as {
      default: { schema: string; migrations: { path: string }; datasource: { url: string } };
    };
    expect(config).toMatchObject({
      schema: 'prisma/schema.prisma',
      migrations: { path: 'prisma/migrations' },
      datasource: { url: process.env.DATABASE_URL ?? '' },
    });
  });

  describe('node dist/migrate.js deploy, run from another folder', () => {
    it('applies the migrations found beside the program, then finds nothing to do', async () => {
      const scratch = await createTestDatabase('mig_cli', false);
      try {
        const first = runNode('migrate.js', { DATABASE_URL: scratch.url }, { args: ['deploy'] });
        expect([await first.exited, first.output()]).toEqual([0, expect.stringMatching(/^applied: /m)]);
        const folders = (await readdir(path.join(ROOT, 'prisma/migrations'), { withFileTypes: true }))
          .filter((e) => e.isDirectory())
          .map((e) => e.name);
        for (const folder of folders) expect(first.output()).toContain(folder);
        const tables = await tableNames(scratch.url);
        expect(tables).toEqual(expect.arrayContaining(['orders', 'sales', 'users', 'payments']));

        const second = runNode('migrate.js', { DATABASE_URL: scratch.url }, { args: ['deploy'] });
        expect([await second.exited, second.output().trim()]).toEqual([0, 'database is up to date']);
      } finally {
        await scratch.drop();
      }
    });

    it('fails loudly (exit 1, naming the folder) when the program has no migrations beside it', async () => {
      // A copy of the built program without prisma/ next to it.
      const root = await mkdtemp(path.join(tmpdir(), 'fs-nomig-'));
      const scratch = await createTestDatabase('mig_none', false);
      try {
        await cp(path.join(ROOT, 'dist'), path.join(root, 'dist'), { recursive: true });
        await cp(path.join(ROOT, 'package.json'), path.join(root, 'package.json'));
        await symlink(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
        const child = runNode('migrate.js', { DATABASE_URL: scratch.url }, { args: ['deploy'], root });
        expect(await child.exited).toBe(1);
        expect(child.output()).toContain(`no migrations found in ${path.join(root, 'prisma', 'migrations')}`);
        expect(child.output()).not.toMatch(/up to date/);
      } finally {
        await scratch.drop();
        await rm(root, { recursive: true, force: true });
      }
    });
  });
});

async function tableNames(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ t: string }>(
      `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public'`,
    );
    return rows.map((r) => r.t);
  } finally {
    await client.end();
  }
}
