import { describe, expect, it } from '@jest/globals';
import { claimsFrom } from './token-claims.js';

const ID = '6f1c2a4e-9b7d-4c3e-8a21-0d5e6f7a8b9c';

describe('claimsFrom', () => {
  it('accepts a UUID sub and a known role', () => {
    expect(claimsFrom({ sub: ID, role: 'CUSTOMER', iat: 1, exp: 2 })).toEqual({ id: ID, role: 'CUSTOMER' });
    expect(claimsFrom({ sub: ID, role: 'ADMIN' })).toEqual({ id: ID, role: 'ADMIN' });
  });

  it('lower-cases the id, so one user has one spelling', () => {
    expect(claimsFrom({ sub: ID.toUpperCase(), role: 'CUSTOMER' })).toEqual({ id: ID, role: 'CUSTOMER' });
  });

  it.each([
    ['no payload', null],
    ['a string payload', 'sub'],
    ['no sub', { role: 'CUSTOMER' }],
    ['a sub that is not a UUID', { sub: 'x', role: 'CUSTOMER' }],
    ['a numeric sub', { sub: 42, role: 'CUSTOMER' }],
    ['a UUID with more after it', { sub: `${ID}\n`, role: 'CUSTOMER' }],
    ['SQL in sub', { sub: `${ID}' OR '1'='1`, role: 'CUSTOMER' }],
    ['an unknown role', { sub: ID, role: 'ROOT' }],
    ['a lower-case role', { sub: ID, role: 'admin' }],
    ['no role', { sub: ID }],
  ])('refuses %s', (_, payload) => {
    expect(claimsFrom(payload)).toBeNull();
  });
});
