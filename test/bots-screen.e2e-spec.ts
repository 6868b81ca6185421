import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { solve } from '../src/bots/challenge.js';
import { BotsMetrics } from '../src/bots/bots.metrics.js';
import { BotsService, type DoorInput } from '../src/bots/bots.service.js';
import { BotsStore } from '../src/bots/bots.store.js';
import { AuthConfig, BotsConfig, RedisConfig, sliceOf, type AppConfig } from '../src/infra/config/app-config.js';
import { DomainError } from '../src/infra/errors/domain-error.js';
import { isStoreUnavailable } from '../src/infra/errors/unavailable.js';
import type { MetricsRegistry } from '../src/infra/metrics/metrics.registry.js';
import { RedisService } from '../src/infra/redis/redis.module.js';
import { ANTI_BOT_DEFAULTS, type AntiBotSettings } from '../src/sales/anti-bot-settings.js';
import type { UsersService } from '../src/users/users.service.js';
import { clearRedis, testConfig } from './support/env.js';

/**
 * The anti-bot screen on a real Redis (the counters, ordinals, replay guard
 * and verdicts live there); accounts' ages come from a stand-in of
 * UsersService. The HTTP routes and the room's use of it: bots.e2e-spec.ts.
 */
describe('anti-bot screen (BotsService on Redis)', () => {
  let config: AppConfig;
  let redis: RedisService;
  let bots: BotsService;
  let metrics: BotsMetrics;
  const created = new Map<string, Date>();

  const RULES: AntiBotSettings = {
    ...ANTI_BOT_DEFAULTS,
    mode: 'enforce',
    difficulty: 1000,
    perAddress: { limit: 2, effect: 'shadow' },
    perNetwork: { limit: 5, effect: 'shadow' },
    perDevice: { limit: 1, effect: 'refuse' },
    burst: { limit: 0, windowSeconds: 60, effect: 'harder' },
  };

  function door(saleId: string, userId: string, ip: string, extra: Partial<DoorInput> = {}): DoorInput {
    return { saleId, userId, ip, endsAt: Date.now() + 3_600_000, headers: {}, settings: RULES, ...extra };
  }

  /** Asks for a challenge and solves it: the Join-Proof header of this identity. */
  async function proofFor(input: DoorInput): Promise<string> {
    const view = await bots.challenge(input);
    if (!view.required) throw new Error('no challenge');
    return `${view.challenge}:${solve(view)}`;
  }

  async function join(input: DoorInput, extraHeaders: Record<string, string> = {}) {
    const proof = await proofFor({ ...input, headers: extraHeaders });
    return bots.screen({ ...input, headers: { ...extraHeaders, 'join-proof': proof } });
  }

  async function refusal(promise: Promise<unknown>): Promise<{ code: string; headers?: Record<string, string> }> {
    try {
      await promise;
    } catch (err) {
      if (err instanceof DomainError) return { code: err.code, headers: err.headers };
      throw err;
    }
    throw new Error('expected a refusal');
  }

  async function saleKeys(saleId: string): Promise<string[]> {
    return redis.client.keys(`${config.REDIS_KEY_PREFIX}:{${saleId}}:*`);
  }

  beforeAll(() => {
    config = testConfig('postgresql://unused@127.0.0.1:1/none', { BOTS_CHALLENGE_LIMIT_PER_IP: '8' });
    redis = new RedisService(sliceOf(RedisConfig, config));
    metrics = new BotsMetrics({ registry: new Registry() } as MetricsRegistry);
    const users = { createdAt: (id: string) => Promise.resolve(created.get(id) ?? null) } as UsersService;
    bots = new BotsService(
      new BotsStore(redis, sliceOf(RedisConfig, config)),
      users,
      metrics,
      sliceOf(BotsConfig, config),
      sliceOf(AuthConfig, config),
    );
  });

  afterAll(async () => {
    await clearRedis(config);
    await redis.onApplicationShutdown();
  });

  it('mode off: no challenge, no proof asked, nothing written', async () => {
    const sale = randomUUID();
    const input = door(sale, randomUUID(), '198.51.100.1', { settings: ANTI_BOT_DEFAULTS });
    await expect(bots.challenge(input)).resolves.toEqual({ required: false });
    await expect(bots.screen(input)).resolves.toEqual({ verdict: 'admit', reason: null, tier: 0 });
    expect(await saleKeys(sale)).toEqual([]);
  });

  it('admits a solved challenge once: the same proof again is CHALLENGE_USED', async () => {
    const input = door(randomUUID(), randomUUID(), '198.51.100.2');
    const proof = await proofFor(input);
    const headers = { 'join-proof': proof };
    await expect(bots.screen({ ...input, headers })).resolves.toEqual({ verdict: 'admit', reason: null, tier: 0 });
    expect(await refusal(bots.screen({ ...input, headers }))).toMatchObject({ code: 'CHALLENGE_USED' });
  });

  it('bad proofs get their code and store nothing: missing, malformed, foreign', async () => {
    const sale = randomUUID();
    const ana = door(sale, randomUUID(), '198.51.100.3');
    const ben = door(sale, randomUUID(), '198.51.100.3');
    const anasProof = await proofFor(ana);
    const before = await redis.client.hgetall(`${config.REDIS_KEY_PREFIX}:{${sale}}:bots:addr:198.51.100.3`);
    expect(await refusal(bots.screen(ben))).toMatchObject({ code: 'CHALLENGE_REQUIRED' });
    expect(await refusal(bots.screen({ ...ben, headers: { 'join-proof': 'nonsense' } }))).toMatchObject({
      code: 'CHALLENGE_MALFORMED',
    });
    expect(await refusal(bots.screen({ ...ben, headers: { 'join-proof': anasProof } }))).toMatchObject({
      code: 'CHALLENGE_INVALID',
    });
    const otherSale = { ...ana, saleId: randomUUID() };
    expect(await refusal(bots.screen({ ...otherSale, headers: { 'join-proof': anasProof } }))).toMatchObject({
      code: 'CHALLENGE_INVALID',
    });
    expect(await saleKeys(otherSale.saleId)).toEqual([]);
    // Ben was never noted on the address, and Ana's proof is still unused
    expect(await redis.client.hgetall(`${config.REDIS_KEY_PREFIX}:{${sale}}:bots:addr:198.51.100.3`)).toEqual(before);
    await expect(bots.screen({ ...ana, headers: { 'join-proof': anasProof } })).resolves.toMatchObject({
      verdict: 'admit',
    });
  });

  it('shadows the accounts over the per-address cap, keeps each verdict, and counts them', async () => {
    const sale = randomUUID();
    const users = Array.from({ length: 4 }, () => randomUUID());
    const verdicts = [];
    for (const user of users) verdicts.push((await join(door(sale, user, '203.0.113.10'))).verdict);
    expect(verdicts).toEqual(['admit', 'admit', 'shadow', 'shadow']);
    // the third account rejoins (a new proof): still shadowed, not counted twice
    await expect(join(door(sale, users[2]!, '203.0.113.10'))).resolves.toEqual({
      verdict: 'shadow',
      reason: 'address',
      tier: 0,
    });
    // the first is still admitted on a retry
    await expect(join(door(sale, users[0]!, '203.0.113.10'))).resolves.toMatchObject({ verdict: 'admit' });
    const stats = await bots.stats(sale);
    expect(stats.shadowed).toEqual({ address: 2 });
    expect(stats.refused).toEqual({});
    expect(stats.verification.proofs).toBeGreaterThan(0);
  });

  it('caps per network (/24) across addresses, and per device id (refuse here)', async () => {
    const sale = randomUUID();
    const verdicts = [];
    for (let i = 1; i <= 6; i++) verdicts.push((await join(door(sale, randomUUID(), `192.0.2.${i}`))).verdict);
    expect(verdicts).toEqual(['admit', 'admit', 'admit', 'admit', 'admit', 'shadow']);
    const device = { 'device-id': 'phone-1' };
    await expect(join(door(sale, randomUUID(), '198.18.0.1'), device)).resolves.toMatchObject({ verdict: 'admit' });
    await expect(join(door(sale, randomUUID(), '198.18.1.1'), device)).resolves.toEqual({
      verdict: 'refuse',
      reason: 'device',
      tier: 0,
    });
    expect((await bots.stats(sale)).refused).toEqual({ device: 1 });
  });

  it('raises the challenge for a burst and a young account; an easier proof is CHALLENGE_STALE', async () => {
    const sale = randomUUID();
    const rules: AntiBotSettings = {
      ...RULES,
      perAddress: { limit: 0, effect: 'shadow' },
      perNetwork: { limit: 0, effect: 'shadow' },
      burst: { limit: 1, windowSeconds: 60, effect: 'harder' },
      accountAge: { minSeconds: 3600, effect: 'harder' },
    };
    const first = door(sale, randomUUID(), '203.0.113.50', { settings: rules });
    expect(await bots.challenge(first)).toMatchObject({ tier: 0, maxNumber: 1000 });
    const second = door(sale, randomUUID(), '203.0.113.50', { settings: rules });
    expect(await bots.challenge(second)).toMatchObject({ tier: 1, maxNumber: 10_000 });
    const young = randomUUID();
    created.set(young, new Date(Date.now() - 60_000));
    expect(await bots.challenge(door(sale, young, '203.0.113.50', { settings: rules }))).toMatchObject({
      tier: 2,
      maxNumber: 100_000,
    });
    // a base-tier proof fetched from a quiet address, used from the busy one
    const roaming = randomUUID();
    const proof = await proofFor(door(sale, roaming, '203.0.113.99', { settings: rules }));
    const moved = door(sale, roaming, '203.0.113.50', { settings: rules, headers: { 'join-proof': proof } });
    expect(await refusal(bots.screen(moved))).toMatchObject({ code: 'CHALLENGE_STALE' });
  });

  it('log mode: admits everybody, counts what enforce would have done, asks for the base tier only', async () => {
    const sale = randomUUID();
    const rules: AntiBotSettings = { ...RULES, mode: 'log', burst: { limit: 1, windowSeconds: 60, effect: 'harder' } };
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await join(door(sale, randomUUID(), '203.0.113.77', { settings: rules })));
    expect(answers.map((a) => a.verdict)).toEqual(['admit', 'admit', 'admit']);
    expect(answers.map((a) => a.tier)).toEqual([0, 0, 0]);
    expect(answers[2]).toMatchObject({ reason: 'address' });
    const stats = await bots.stats(sale);
    expect(stats.shadowed).toEqual({});
    expect(stats.logged.shadow).toEqual({ address: 1 });
  });

  it('rate-limits challenges per client address (429 with Retry-After)', async () => {
    const sale = randomUUID();
    for (let i = 0; i < 8; i++) await bots.challenge(door(sale, randomUUID(), '198.51.100.200'));
    const refused = await refusal(bots.challenge(door(sale, randomUUID(), '198.51.100.200')));
    expect(refused.code).toBe('RATE_LIMITED');
    expect(Number(refused.headers?.['retry-after'])).toBeGreaterThanOrEqual(1);
    // another address is not affected
    await expect(bots.challenge(door(sale, randomUUID(), '198.51.100.201'))).resolves.toMatchObject({ required: true });
  });

  it('Redis out of reach: the screen fails with a store-unavailable error (the API answers 503 with Retry-After)', async () => {
    const down = testConfig('postgresql://unused@127.0.0.1:1/none', {
      REDIS_URL: 'redis://127.0.0.1:1',
      REDIS_COMMAND_TIMEOUT_MS: '100',
    });
    const deadRedis = new RedisService(sliceOf(RedisConfig, down));
    const users = { createdAt: () => Promise.resolve(null) } as unknown as UsersService;
    const blind = new BotsService(
      new BotsStore(deadRedis, sliceOf(RedisConfig, down)),
      users,
      metrics,
      sliceOf(BotsConfig, config),
      sliceOf(AuthConfig, config),
    );
    try {
      const input = door(randomUUID(), randomUUID(), '198.51.100.9');
      const failed = await blind.challenge(input).then(
        () => null,
        (err: unknown) => err,
      );
      expect(isStoreUnavailable(failed)).toBe(true);
    } finally {
      // bounded: the client ends once its pending reconnect is dropped
      const ended = new Promise((resolve) => deadRedis.client.once('end', resolve));
      deadRedis.client.disconnect();
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 3000))]);
    }
  });
});
