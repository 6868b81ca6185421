import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { NestFactory } from '@nestjs/core';
import {
  AuthConfig,
  CONFIG_SLICES,
  ConfigError,
  DatabaseConfig,
  GateConfig,
  loadConfig,
  OpsConfig,
  RedisConfig,
  sliceOf,
} from './app-config.js';
import { ConfigModule } from './config.module.js';

const valid = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/x',
  REDIS_URL: 'redis://127.0.0.1:6379',
  JWT_SECRET: 'x'.repeat(32),
};

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({ NODE_ENV: 'development', PORT: 3000, WORKER_QUEUES: 'all', LOG_LEVEL: 'log' });
  });

  it('has the ops settings of .env.example, and checks them', () => {
    expect(loadConfig(valid)).toMatchObject({
      METRICS_TOKEN: '',
      WORKER_OPS_PORT: 9464,
      SHUTDOWN_DRAIN_MS: 2000,
      LOG_REQUEST_CONTEXT: false,
    });
    expect(() => loadConfig({ ...valid, METRICS_TOKEN: 'short' })).toThrow(
      /METRICS_TOKEN must be at least 16 characters/,
    );
    expect(() => loadConfig({ ...valid, WORKER_OPS_PORT: '70000' })).toThrow(/WORKER_OPS_PORT/);
    expect(() => loadConfig({ ...valid, SHUTDOWN_DRAIN_MS: '10000' })).toThrow(
      /SHUTDOWN_DRAIN_MS must be below SHUTDOWN_TIMEOUT_MS/,
    );
    expect(() => loadConfig({ ...valid, HEADERS_TIMEOUT_SECONDS: '20', REQUEST_TIMEOUT_SECONDS: '10' })).toThrow(
      /HEADERS_TIMEOUT_SECONDS must not exceed REQUEST_TIMEOUT_SECONDS/,
    );
    expect(loadConfig({ ...valid, LOG_REQUEST_CONTEXT: 'true' }).LOG_REQUEST_CONTEXT).toBe(true);
  });

  it('converts numbers and booleans from strings', () => {
    const config = loadConfig({ ...valid, PORT: '8080', LOG_REQUESTS: 'false' });
    expect(config.PORT).toBe(8080);
    expect(config.LOG_REQUESTS).toBe(false);
  });

  it.each(['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET'])('names %s when it is missing', (name) => {
    const found = problems({ ...valid, [name]: undefined });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(new RegExp(`^${name} is missing`));
  });

  it.each([
    ['PORT', 'eighty', /^PORT /],
    ['PORT', '70000', /^PORT /],
    ['DATABASE_URL', 'mysql://x', /^DATABASE_URL must be a postgresql/],
    ['REDIS_URL', 'localhost:6379', /^REDIS_URL must be a redis/],
    ['JWT_SECRET', 'short', /^JWT_SECRET must be at least 32/],
    ['NODE_ENV', 'staging', /^NODE_ENV /],
    ['LOG_REQUESTS', 'maybe', /^LOG_REQUESTS must be true or false/],
    ['QUEUE_PREFIX', 'bull', /^QUEUE_PREFIX must be a hash tag/],
    ['SMTP_URL', 'mail.example.com:25', /^SMTP_URL must be an smtp/],
    ['SMS_PROVIDER', 'pigeon', /^SMS_PROVIDER /],
    ['NOTIFY_ATTEMPTS', '0', /^NOTIFY_ATTEMPTS /],
  ])('names %s when it is malformed (%s)', (name, value, message) => {
    const found = problems({ ...valid, [name]: value });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  it('needs SMS_GATEWAY_URL with the http SMS provider', () => {
    expect(problems({ ...valid, SMS_PROVIDER: 'http' })).toEqual([
      expect.stringMatching(/^SMS_GATEWAY_URL is missing \(must be an http\(s\):\/\/ URL/),
    ]);
    const config = loadConfig({ ...valid, SMS_PROVIDER: 'http', SMS_GATEWAY_URL: 'https://sms.example/send' });
    expect(config).toMatchObject({ SMS_PROVIDER: 'http', SMS_GATEWAY_URL: 'https://sms.example/send' });
    expect(loadConfig(valid)).toMatchObject({ SMS_PROVIDER: 'log', SMTP_URL: 'smtp://127.0.0.1:1025' });
  });

  it('does not echo the values of secrets', () => {
    expect(problems({ ...valid, JWT_SECRET: 'hunter2' }).join()).not.toContain('hunter2');
  });

  it('reports every bad variable at once', () => {
    expect(
      problems({})
        .map((p) => p.split(' ')[0])
        .sort(),
    ).toEqual(['DATABASE_URL', 'JWT_SECRET', 'REDIS_URL']);
  });
});

describe('config slices', () => {
  it('puts every setting in exactly one slice', () => {
    const seen = new Map<string, string>();
    for (const slice of CONFIG_SLICES) {
      for (const key of Object.keys(new slice())) {
        expect(seen.get(key)).toBeUndefined();
        seen.set(key, slice.name);
      }
    }
    expect([...seen.keys()].sort()).toEqual(Object.keys(loadConfig(valid)).sort());
    expect(seen.size).toBeGreaterThan(70);
  });

  it('keeps each default in its slice (documented in .env.example)', () => {
    expect(sliceOf(GateConfig, loadConfig(valid))).toEqual(
      Object.assign(new GateConfig(), {
        BACKLOG_CAP: 20_000,
        HANDOFF_LINGER_MS: 5,
        HANDOFF_MAX_TICKETS: 500,
        RATE_LIMIT_USER_PER_SECOND: 20,
        RATE_LIMIT_IP_PER_SECOND: 0,
        IDEMPOTENCY_TTL_SECONDS: 86_400,
      }),
    );
    expect(sliceOf(RedisConfig, loadConfig({ ...valid, REDIS_KEY_PREFIX: 'x' }))).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: 'x',
      REDIS_TLS: false,
    });
  });

  it('names the bad value of a slice with its bounds', () => {
    expect(problems({ ...valid, HANDOFF_LINGER_MS: '-1' })).toEqual(['HANDOFF_LINGER_MS must not be less than 0']);
    expect(problems({ ...valid, HANDOFF_MAX_TICKETS: '9000' })).toEqual([
      'HANDOFF_MAX_TICKETS must not be greater than 5000',
    ]);
    expect(problems({ ...valid, BACKLOG_CAP: '1.5' })).toEqual(['BACKLOG_CAP must be an integer number']);
    expect(problems({ ...valid, REDIS_TLS: 'yes' })).toEqual(['REDIS_TLS must be true or false']);
    expect(problems({ ...valid, ADMIN_EMAIL: 'not-an-email', ADMIN_PASSWORD: 'long-enough' })).toEqual([
      'ADMIN_EMAIL must be an email',
    ]);
    expect(problems({ ...valid, PAYMENT_PROVIDER: 'http' })).toEqual([
      expect.stringMatching(/^PAYMENT_PROVIDER_URL is missing \(must be an http\(s\):\/\/ URL/),
    ]);
  });

  it('lets a cluster go without REDIS_URL', () => {
    expect(problems({ ...valid, REDIS_URL: undefined, REDIS_CLUSTER_NODES: 'a:7000,b:7001' })).toEqual([]);
  });

  it('gives each slice its own provider and the whole config none', async () => {
    const config = loadConfig({ ...valid, REDIS_KEY_PREFIX: 'sliced' });
    const app = await NestFactory.createApplicationContext(ConfigModule.forRoot(config), { logger: false });
    try {
      expect(app.get(RedisConfig)).toBeInstanceOf(RedisConfig);
      expect(app.get(RedisConfig).REDIS_KEY_PREFIX).toBe('sliced');
      expect(app.get(DatabaseConfig).DATABASE_URL).toBe(valid.DATABASE_URL);
      // A slice holds its own settings only: no secret of another slice.
      expect(Object.keys(app.get(OpsConfig))).not.toContain('JWT_SECRET');
      expect(app.get(AuthConfig).JWT_SECRET).toBe(valid.JWT_SECRET);
    } finally {
      await app.close();
    }
  });
});
