import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { RedisService } from '../src/infra/redis/redis.module.js';
import { GateAdmission, type AdmitRequest } from '../src/gate/gate-admission.js';
import { GateLayout } from '../src/gate/gate-layout.js';
import { rebuildKeys } from '../src/gate/gate-rebuild.js';
import { GateReadModel } from '../src/gate/gate-read-model.js';
import { GateTickets } from '../src/gate/gate-tickets.js';
import { allGateKeys, type GateKeys } from '../src/gate/gate.keys.js';
import type { Ticket } from '../src/gate/tickets.js';
import { testConfig } from './support/env.js';
import { OwnRedis } from './support/redis-server.js';

/**
 * The admission and ticket-clearing scripts on a real Redis of the suite's
 * own (its command counters are this suite's alone): what a purchase costs in
 * commands, the per-second rate windows, and that a refusal or a re-sent call
 * changes nothing it should not.
 */
describe('gate scripts: admission and clearing', () => {
  const own = new OwnRedis();
  let config: AppConfig;
  let redis: RedisService;
  let probe: Redis;
  let layout: GateLayout;
  let gate: GateAdmission;
  let tickets: GateTickets;
  /** One admission's clock: every call of a test in the same second unless it says otherwise. */
  let clock: number;

  beforeAll(async () => {
    await own.start();
    config = testConfig('postgresql://unused@127.0.0.1:5432/unused', {
      REDIS_URL: own.url,
      RATE_LIMIT_USER_PER_SECOND: '3',
    });
    redis = new RedisService(config);
    probe = new Redis(own.url);
    layout = new GateLayout(redis, config);
    gate = new GateAdmission(layout, config, config);
    tickets = new GateTickets(layout);
  });

  afterAll(async () => {
    probe.disconnect();
    await redis.onApplicationShutdown();
    await own.dispose();
  });

  /** A gate of one bucket for a new sale, open now (as a preheat writes it). */
  async function sale(stock: number, limit: number, { paused = false } = {}): Promise<{ id: string; k: GateKeys }> {
    const id = randomUUID();
    const k = layout.keys(id);
    const now = Date.now();
    await layout.redis.gateRebuild(
      ...rebuildKeys(k),
      'create',
      0,
      stock,
      now - 60_000,
      now + 3_600_000,
      limit,
      paused ? 1 : 0,
      100,
      '',
      '',
      0,
      layout.channel,
      id,
      1,
      0,
      '0',
      0,
    );
    return { id, k };
  }

  function request(saleId: string, userId: string, over: Partial<Ticket> & Partial<AdmitRequest> = {}): AdmitRequest {
    const { ip = '10.0.0.1', idempotencyKey, backlogCap, ...ticket } = over;
    return {
      ticket: { orderId: randomUUID(), saleId, userId, quantity: 1, admittedAt: clock, ...ticket },
      ip,
      idempotencyKey,
      backlogCap,
    };
  }

  /** Everything the gate of a sale holds, rate windows of the test's second included. */
  async function snapshot(k: GateKeys): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const key of [...allGateKeys(k), k.rate(Math.floor(clock / 1000))]) {
      const type = await probe.type(key);
      if (type === 'hash') out[key] = await probe.hgetall(key);
      else if (type === 'zset') out[key] = await probe.zrange(key, '0', '-1', 'WITHSCORES');
      else if (type === 'set') out[key] = (await probe.smembers(key)).sort();
      else if (type === 'string') out[key] = await probe.get(key);
    }
    return out;
  }

  /** Commands Redis ran (scripts' own included) while `work` ran: INFO commandstats. */
  async function commandsOf(work: () => Promise<unknown>): Promise<Record<string, number>> {
    await probe.config('RESETSTAT');
    await work();
    const info = await probe.info('commandstats');
    const calls: Record<string, number> = {};
    for (const [, name, n] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      if (name !== 'info' && name !== 'config|resetstat') calls[name!] = Number(n);
    }
    return calls;
  }
  const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);

  it('an admission runs 8 commands (EVALSHA and 7 inside); clearing a batch 6, however many tickets', async () => {
    clock = Date.now();
    const { id } = await sale(100, 10);
    await gate.admit(request(id, 'warm-up')); // loads the script, opens the second's rate window
    layout.learnt(id, 1); // the layout known (a process asks for it at most once a second)
    const admit = await commandsOf(() => gate.admit(request(id, 'shopper')));
    expect(admit).toEqual({
      evalsha: 1,
      hmget: 1, // the gate's state
      hincrby: 3, // rate count, buyer's count, remaining (admitted is counted from the tickets)
      zcard: 1, // the backlog
      hsetnx: 1, // the ticket (a re-sent call finds it there)
      zadd: 1, // the ticket's admission time
    });

    const batch: Ticket[] = [];
    for (let i = 0; i < 50; i++) {
      const r = request(id, `buyer-${i}`);
      expect((await gate.admit(r)).code).toBe('OK');
      batch.push(r.ticket);
    }
    await tickets.clearTickets(batch.slice(0, 1)); // loads the script
    layout.learnt(id, 1);
    const clear = await commandsOf(() => tickets.clearTickets(batch.slice(1)));
    expect(clear).toEqual({ evalsha: 1, hmget: 1, hdel: 1, zrem: 1, incrby: 1, hincrby: 1 });
    expect(total(clear)).toBe(6);
  });

  it('rate limit: per user and second, the attempt beyond the limit is refused; the window expires', async () => {
    clock = Date.now();
    const { id, k } = await sale(100, 100);
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await gate.admit(request(id, 'eager'))).code);
    expect(codes).toEqual(['OK', 'OK', 'OK', 'RATE_LIMITED']); // RATE_LIMIT_USER_PER_SECOND = 3
    expect((await gate.admit(request(id, 'other'))).code).toBe('OK'); // the same second, another user
    expect((await gate.admit(request(id, 'eager', { admittedAt: clock + 1000 }))).code).toBe('OK'); // the next second

    const window = k.rate(Math.floor(clock / 1000));
    expect(await probe.hgetall(window)).toEqual({ 'u:eager': '4', 'u:other': '1' });
    const ttl = await probe.pttl(window);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2000);
    // A window made again after it expired (by a call of its second arriving late) gets its expiry
    // back when the next second opens.
    const next = k.rate(Math.floor(clock / 1000) + 1);
    await probe.persist(next);
    expect((await gate.admit(request(id, 'eager', { admittedAt: clock + 2000 }))).code).toBe('OK');
    expect(await probe.pttl(next)).toBeGreaterThan(0);
    // A caller whose clock is behind the bucket's newest second still gets a window that expires.
    expect((await gate.admit(request(id, 'late', { admittedAt: clock - 5000 }))).code).toBe('OK');
    expect(await probe.pttl(k.rate(Math.floor(clock / 1000) - 5))).toBeGreaterThan(0);
    expect(await probe.pttl(k.rate(Math.floor(clock / 1000) + 1))).toBeGreaterThan(0);
  });

  it('rate limit per IP (when on): one address is limited whatever the user', async () => {
    clock = Date.now();
    const strict = new GateAdmission(layout, { ...config, RATE_LIMIT_IP_PER_SECOND: 2 } as AppConfig, config);
    const { id, k } = await sale(100, 100);
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await strict.admit(request(id, `u${i}`, { ip: '10.9.9.9' }))).code);
    expect(codes).toEqual(['OK', 'OK', 'RATE_LIMITED']);
    expect((await strict.admit(request(id, 'u9', { ip: '10.9.9.8' }))).code).toBe('OK');
    expect(await probe.hget(k.rate(Math.floor(clock / 1000)), 'ip:10.9.9.9')).toBe('3');
  });

  /**
   * The rate window of the test's second kept (its expiry is tested above): a
   * slow machine must not see it expire between two snapshots.
   */
  const keepWindow = (k: GateKeys) => probe.persist(k.rate(Math.floor(clock / 1000)));

  it('a refused purchase changes nothing but its rate count and the counter of its refusal', async () => {
    clock = Date.now();
    const { id, k } = await sale(3, 2);
    await gate.admit(request(id, 'holder')); // holds 1 of 2; the window of this second is open
    await keepWindow(k);
    const refusals: [string, AdmitRequest, string][] = [
      ['a new buyer over the limit', request(id, 'greedy', { quantity: 3 }), 'LIMIT_EXCEEDED'],
      ['a buyer over the limit', request(id, 'holder', { quantity: 2 }), 'LIMIT_EXCEEDED'],
      ['a new buyer, too few units', request(id, 'late', { quantity: 2 }), 'OK'],
      ['a new buyer, none left', request(id, 'later'), 'SOLD_OUT'],
    ];
    for (const [what, r, expected] of refusals) {
      const before = await snapshot(k);
      const answer = await gate.admit(r);
      expect([what, answer.code]).toEqual([what, expected]);
      if (expected === 'OK') continue;
      const after = await snapshot(k);
      const window = k.rate(Math.floor(clock / 1000));
      const rateField = `u:${r.ticket.userId}`;
      expect(Number((after[window] as Record<string, string>)[rateField])).toBe(
        Number((before[window] as Record<string, string> | undefined)?.[rateField] ?? 0) + 1,
      );
      expect(Number((after[k.stats] as Record<string, string>)[expected])).toBe(
        Number((before[k.stats] as Record<string, string> | undefined)?.[expected] ?? 0) + 1,
      );
      for (const key of Object.keys({ ...before, ...after }).filter((key) => key !== window && key !== k.stats)) {
        expect([what, key, after[key]]).toEqual([what, key, before[key]]);
      }
    }

    // Backlog full, or the sale paused: a new buyer leaves no count behind either.
    const busy = await sale(10, 5);
    await gate.admit(request(busy.id, 'first'));
    const before = await probe.hgetall(busy.k.buyers);
    expect((await gate.admit(request(busy.id, 'second', { backlogCap: 1 }))).code).toBe('BUSY');
    expect(await probe.hgetall(busy.k.buyers)).toEqual(before);
    expect(before).toEqual({ first: '1' });
    const paused = await sale(10, 5, { paused: true });
    expect((await gate.admit(request(paused.id, 'idle'))).code).toBe('SALE_NOT_ACTIVE');
    expect(await probe.exists(paused.k.buyers, paused.k.pending, paused.k.pendingAt)).toBe(0);
  });

  it('a re-sent call is applied once and answered OK, even where a check would now refuse it', async () => {
    clock = Date.now();
    const { id, k } = await sale(2, 1);
    await gate.admit(request(id, 'warm-up')); // opens the second's rate window
    await keepWindow(k);
    const first = request(id, 'once', { idempotencyKey: 'k-1' });
    expect(await gate.admit(first)).toMatchObject({ code: 'OK', remaining: 0, orderId: first.ticket.orderId });
    // Sold out by it, at the buyer's limit, and (below) at the rate limit: still OK, nothing changes.
    const before = await snapshot(k);
    for (let i = 0; i < 3; i++) {
      expect(await gate.admit(first)).toMatchObject({ code: 'OK', remaining: 0, orderId: first.ticket.orderId });
      expect(await snapshot(k)).toEqual(before);
    }
    const keyless = { ...first, idempotencyKey: undefined };
    expect(await gate.admit(keyless)).toMatchObject({ code: 'OK', orderId: first.ticket.orderId });
    expect(await snapshot(k)).toEqual(before);
    // Another call under the same Idempotency-Key: the first admission (REPLAY), nothing new.
    expect(await gate.admit(request(id, 'once', { idempotencyKey: 'k-1' }))).toMatchObject({
      code: 'REPLAY',
      orderId: first.ticket.orderId,
    });

    // A re-sent call that finds its second full of attempts: OK, its count not raised.
    const { id: id2, k: k2 } = await sale(10, 10);
    const resent = request(id2, 'busy-hands');
    expect((await gate.admit(resent)).code).toBe('OK');
    await keepWindow(k2);
    // Every check passes again: the ticket found by HSETNX, what the call counted taken back.
    const once = await snapshot(k2);
    expect(await gate.admit(resent)).toMatchObject({ code: 'OK', remaining: 9, orderId: resent.ticket.orderId });
    expect(await snapshot(k2)).toEqual(once);
    for (let i = 0; i < 2; i++) await gate.admit(request(id2, 'busy-hands'));
    const full = await snapshot(k2);
    expect(await gate.admit(resent)).toMatchObject({ code: 'OK', orderId: resent.ticket.orderId });
    expect(await snapshot(k2)).toEqual(full);
  });

  it('clearing counts the units of tickets still pending once: duplicates and cleared ones add nothing', async () => {
    clock = Date.now();
    const { id, k } = await sale(100, 10);
    const admitted: Ticket[] = [];
    for (const q of [1, 2, 3]) {
      const r = request(id, `c${q}`, { quantity: q });
      expect((await gate.admit(r)).code).toBe('OK');
      admitted.push(r.ticket);
    }
    await tickets.clearTickets([admitted[0]!, admitted[0]!]);
    expect(await probe.get(k.persisted)).toBe('1');
    await tickets.clearTickets([...admitted, admitted[1]!]);
    expect(await probe.get(k.persisted)).toBe('6');
    expect(await probe.hlen(k.pending)).toBe(0);
    expect(await probe.zcard(k.pendingAt)).toBe(0);
  });
  it('admitted = tickets settled + pending, through clearing and giving back; an older gate counts each admission', async () => {
    clock = Date.now();
    const reads = new GateReadModel(layout);
    const { id } = await sale(100, 10);
    const batch: Ticket[] = [];
    for (let i = 0; i < 5; i++) {
      const r = request(id, `t${i}`, { quantity: 2 });
      expect((await gate.admit(r)).code).toBe('OK');
      batch.push(r.ticket);
    }
    expect(await reads.stats(id)).toMatchObject({ counters: { admitted: 5 }, pending: 5, remaining: 90 });
    await tickets.clearTickets(batch.slice(0, 3));
    await tickets.clearTickets(batch.slice(0, 3)); // redelivered: settles nothing twice
    expect(await reads.stats(id)).toMatchObject({ counters: { admitted: 5 }, pending: 2 });
    // A pending ticket given back (its order failed) and a persisted one (cancelled): still admitted once each.
    const [failed, cancelled] = [batch[3]!, batch[0]!];
    expect(await tickets.release(id, failed.orderId, failed.userId, 2)).toBe(true);
    expect(await tickets.release(id, cancelled.orderId, cancelled.userId, 2)).toBe(true);
    const after = await reads.stats(id);
    expect(after).toMatchObject({ counters: { admitted: 5 }, pending: 1, remaining: 94 });
    expect(after.counters).not.toHaveProperty('settled');
    // Refusals are counted as before.
    expect((await gate.admit(request(id, 't4', { quantity: 9 }))).code).toBe('LIMIT_EXCEEDED');
    expect((await reads.stats(id)).counters).toMatchObject({ admitted: 5, LIMIT_EXCEEDED: 1 });

    // A gate built by an older version (no tally): each admission raises `admitted`, as it did.
    const old = await sale(100, 10);
    await probe.hdel(old.k.state, 'tally');
    for (let i = 0; i < 3; i++) expect((await gate.admit(request(old.id, `o${i}`))).code).toBe('OK');
    expect(await probe.hget(old.k.stats, 'admitted')).toBe('3');
    expect(await reads.stats(old.id)).toMatchObject({ counters: { admitted: 3 }, pending: 3 });
  });
});
