// The Prisma CLI's configuration. Prisma 7 reads the database URL here, not in
// schema.prisma. Where the CLI can download its native schema engine,
// `npx prisma migrate deploy` applies prisma/migrations/ (and records them in
// _prisma_migrations); `npm run db:migrate` does the same with Prisma's
// WebAssembly engine, offline (src/infra/prisma/migrator.ts).
import { existsSync } from 'node:fs';
import { defineConfig } from 'prisma/config';

// As the app: .env when present, the environment wins.
if (existsSync('.env')) process.loadEnvFile('.env');

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? '' },
});
