import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { Prisma } from '../../generated/prisma/client.js';
import { isStoreUnavailable } from './unavailable.js';

/** A pg server error as node-postgres makes it (SQLSTATE in `code`). */
function pgError(code: string, message: string): Error {
  const err = new pg.DatabaseError(message, message.length, 'error');
  err.code = code;
  err.severity = 'FATAL';
  return err;
}

/** The same seen through Prisma's adapter-pg: a known request error whose cause is kind `postgres`. */
function prismaError(code: string, message: string): Error {
  return new Prisma.PrismaClientKnownRequestError(`Database error. Code: \`${code}\`. Message: \`${message}\``, {
    code: 'P2010',
    clientVersion: Prisma.prismaVersion.client,
    meta: { driverAdapterError: { cause: { kind: 'postgres', code, severity: 'FATAL', message } } },
  });
}

describe('isStoreUnavailable: Postgres restarting', () => {
  it('a server shutting down, terminating sessions or starting up is out of reach (503, not 500)', () => {
    expect(isStoreUnavailable(prismaError('57P03', 'the database system is shutting down'))).toBe(true);
    expect(isStoreUnavailable(prismaError('57P01', 'terminating connection due to administrator command'))).toBe(true);
    expect(isStoreUnavailable(pgError('57P01', 'terminating connection due to administrator command'))).toBe(true);
    expect(isStoreUnavailable(pgError('08006', 'connection failure'))).toBe(true);
    expect(isStoreUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isStoreUnavailable(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
  });

  it('errors of the query or the data stay errors', () => {
    expect(isStoreUnavailable(prismaError('23505', 'duplicate key value violates unique constraint'))).toBe(false);
    expect(isStoreUnavailable(pgError('42P01', 'relation "x" does not exist'))).toBe(false);
    expect(isStoreUnavailable(pgError('57014', 'canceling statement due to statement timeout'))).toBe(false);
    expect(isStoreUnavailable(new Error('something else'))).toBe(false);
  });
});
