import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../config/app-config.js';
import { parseTrustProxy } from './trust-proxy.js';

const valid = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/x',
  REDIS_URL: 'redis://127.0.0.1:6379',
  JWT_SECRET: 'x'.repeat(32),
};

describe('parseTrustProxy', () => {
  it('false, empty and 0 trust nobody', () => {
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('')).toBe(false);
    expect(parseTrustProxy('0')).toBe(false);
  });

  it('a hop count trusts that many addresses from the socket inwards', () => {
    const trust = parseTrustProxy('2');
    expect(typeof trust).toBe('function');
    const fn = trust as (address: string, hop: number) => boolean;
    expect([fn('198.51.100.1', 0), fn('198.51.100.2', 1), fn('198.51.100.3', 2)]).toEqual([true, true, false]);
  });

  it('a list of addresses, CIDRs and range names', () => {
    expect(parseTrustProxy('10.0.0.1, 10.1.0.0/16,::1,fd00::/8,loopback')).toEqual([
      '10.0.0.1',
      '10.1.0.0/16',
      '::1',
      'fd00::/8',
      'loopback',
    ]);
  });

  it.each(['true', '11', '10.0.0.0/33', 'proxy.example.com', '10.0.0.1,', '::1/129', '1.2.3.4/8/8'])(
    'refuses %s',
    (value) => {
      expect(parseTrustProxy(value)).toBeUndefined();
    },
  );

  it('the config names TRUST_PROXY and CORS_ORIGINS when malformed', () => {
    const problems = (env: Record<string, string>): string[] => {
      try {
        loadConfig({ ...valid, ...env });
        return [];
      } catch (err) {
        return err instanceof ConfigError ? err.problems : [String(err)];
      }
    };
    expect(problems({ TRUST_PROXY: 'true' })).toEqual([expect.stringMatching(/^TRUST_PROXY must be false, a hop/)]);
    expect(problems({ CORS_ORIGINS: 'shop.example.com' })).toEqual([expect.stringMatching(/^CORS_ORIGINS must be/)]);
    expect(problems({ CORS_ORIGINS: 'https://a.example.com/path' })).toHaveLength(1);
    expect(problems({ TRUST_PROXY: '10.0.0.0/8', CORS_ORIGINS: 'https://a.example, http://[::1]:3000' })).toEqual([]);
  });
});
