import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './app-config.js';

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
