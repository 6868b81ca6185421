import { randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import pg from 'pg';
import { AuthService } from '../../src/auth/auth.service.js';
import { JWT_SECRET } from './env.js';
import type { RunningApi } from './http.js';

type Role = 'CUSTOMER' | 'ADMIN';

export interface TestUser {
  id: string;
  email: string;
  token: string;
}

/**
 * Users straight in the database (no slow password hash) with a token signed
 * by the running API's own AuthService: for suites where login is not the subject.
 */
export async function createUsers(
  api: RunningApi,
  databaseUrl: string,
  count: number,
  role: Role = 'CUSTOMER',
): Promise<TestUser[]> {
  const auth = api.app.get(AuthService);
  return insertUsers(databaseUrl, count, role, (id) => auth.sign({ id, role }));
}

/** The same for APIs running as child processes: tokens signed with the tests' JWT_SECRET, as AuthService signs them. */
export function createUsersSigned(databaseUrl: string, count: number, role: Role = 'CUSTOMER'): Promise<TestUser[]> {
  return createUsersSignedWith(databaseUrl, count, JWT_SECRET, role);
}

/** Users with tokens signed with `secret` (the benches' own, valid for `expiresIn` seconds). */
export function createUsersSignedWith(
  databaseUrl: string,
  count: number,
  secret: string,
  role: Role = 'CUSTOMER',
  expiresIn = 3600,
): Promise<TestUser[]> {
  const jwt = new JwtService({ secret, signOptions: { algorithm: 'HS256', expiresIn } });
  return insertUsers(databaseUrl, count, role, (id) => jwt.sign({ sub: id, role }));
}

async function insertUsers(
  databaseUrl: string,
  count: number,
  role: Role,
  sign: (id: string) => string,
): Promise<TestUser[]> {
  const users = Array.from({ length: count }, () => {
    const id = randomUUID();
    return { id, email: `${id}@example.test` };
  });
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (let i = 0; i < users.length; i += 10_000) {
      const chunk = users.slice(i, i + 10_000);
      await client.query(
        `INSERT INTO users (id, email, phone, password_hash, role)
         SELECT id, email, '+14155550100', 'x', $3::"Role" FROM unnest($1::uuid[], $2::text[]) AS u(id, email)`,
        [chunk.map((u) => u.id), chunk.map((u) => u.email), role],
      );
    }
  } finally {
    await client.end();
  }
  return users.map((u) => ({ ...u, token: sign(u.id) }));
}
