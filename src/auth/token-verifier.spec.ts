import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { JwtService } from '@nestjs/jwt';
import { newTestService } from '../testing/new-test-service.js';
import { TokenVerifier } from './token-verifier.js';

const SECRET = 'unit-secret-unit-secret-unit-secret-0123';
const ID = '6f1c2a4e-9b7d-4c3e-8a21-0d5e6f7a8b9c';
const jwt = new JwtService({ secret: SECRET, verifyOptions: { algorithms: ['HS256'] } });

function verifier(env: Record<string, string> = {}): {
  sut: TokenVerifier;
  verify: jest.SpiedFunction<JwtService['verify']>;
} {
  const verify = jest.spyOn(jwt, 'verify');
  verify.mockClear();
  return { sut: newTestService(TokenVerifier, { env, use: [[JwtService, jwt]] }).sut, verify };
}

const bearer = (payload: object, expiresIn: number): string =>
  `Bearer ${jwt.sign(payload, { secret: SECRET, expiresIn })}`;

describe('TokenVerifier', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('verifies a token once and answers its repeats from the cache', () => {
    const { sut, verify } = verifier();
    const header = bearer({ sub: ID, role: 'CUSTOMER' }, 60);
    expect(sut.userOf(header)).toEqual({ id: ID, role: 'CUSTOMER' });
    expect(sut.userOf(header)).toEqual({ id: ID, role: 'CUSTOMER' });
    expect(sut.userOf(`${header}  `)).toEqual({ id: ID, role: 'CUSTOMER' });
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('stops answering a cached token at its exp, as the verification would', () => {
    jest.useFakeTimers({ now: new Date('2026-12-07T00:00:00.000Z') });
    const { sut } = verifier();
    const header = bearer({ sub: ID, role: 'CUSTOMER' }, 10);
    expect(sut.userOf(header)).not.toBeNull();
    jest.setSystemTime(new Date('2026-12-07T00:00:09.999Z'));
    expect(sut.userOf(header)).not.toBeNull();
    jest.setSystemTime(new Date('2026-12-07T00:00:10.000Z'));
    expect(sut.userOf(header)).toBeNull();
    expect(verifier().sut.userOf(header)).toBeNull(); // and uncached, the same answer
  });

  it('verifies a tampered copy of a cached token in full (and refuses it)', () => {
    const { sut } = verifier();
    const header = bearer({ sub: ID, role: 'CUSTOMER' }, 60);
    expect(sut.userOf(header)).not.toBeNull();
    const [head, body, signature] = header.slice(7).split('.') as [string, string, string];
    const admin = Buffer.from(JSON.stringify({ sub: ID, role: 'ADMIN', exp: 9_999_999_999 })).toString('base64url');
    expect(sut.userOf(`Bearer ${head}.${admin}.${signature}`)).toBeNull();
    expect(sut.userOf(`Bearer ${head}.${body}.${signature.slice(0, -2)}AA`)).toBeNull();
  });

  it('keeps no token with odd claims or without exp', () => {
    const { sut, verify } = verifier();
    const odd = bearer({ sub: 'not-a-uuid', role: 'CUSTOMER' }, 60);
    const forever = `Bearer ${jwt.sign({ sub: ID, role: 'CUSTOMER' }, { secret: SECRET })}`;
    expect(sut.userOf(odd)).toBeNull();
    expect(sut.userOf(odd)).toBeNull();
    expect(sut.userOf(forever)).not.toBeNull();
    expect(sut.userOf(forever)).not.toBeNull();
    expect(verify).toHaveBeenCalledTimes(4);
  });

  it('verifies every time with TOKEN_CACHE_SIZE=0', () => {
    const { sut, verify } = verifier({ TOKEN_CACHE_SIZE: '0' });
    const header = bearer({ sub: ID, role: 'CUSTOMER' }, 60);
    sut.userOf(header);
    sut.userOf(header);
    expect(verify).toHaveBeenCalledTimes(2);
  });
});
