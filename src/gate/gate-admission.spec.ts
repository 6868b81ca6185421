import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { RedisConfig, sliceOf } from '../infra/config/app-config.js';
import type { RedisService } from '../infra/redis/redis.module.js';
import { newTestService, unitConfig } from '../testing/new-test-service.js';
import { GateAdmission, type AdmitRequest } from './gate-admission.js';
import { GateLayout } from './gate-layout.js';
import { homeBucket } from './gate.keys.js';

const SALE = '6a1f0c3e-2b4d-4e8f-9a7b-1c2d3e4f5a6b';
type Reply = [string, string, string];
type Take = [number, number, string];

/** Where gateAdmit's arguments sit: 10 keys, then ARGV (see ADMIT_LUA). */
const ARG = { state: 0, buyers: 1, stats: 4, buckets: 10 + 12, transferId: 10 + 13, units: 10 + 14, epoch: 10 + 15 };

/**
 * The retry rules of the admission live in TypeScript around the script, so
 * Redis is replaced here by a fake of the commands the gate defines (the
 * script itself is exercised against a real Redis by the e2e suites).
 */
function fakeRedis() {
  return {
    status: 'ready',
    /** The sale's bucket count as the layout hash holds it (null: one bucket). */
    buckets: null as string | null,
    hget: jest.fn(async function (this: { buckets: string | null }) {
      return this.buckets;
    }),
    gateAdmit: jest.fn<(...args: (string | number)[]) => Promise<Reply>>(),
    gateTake: jest.fn<(...args: (string | number)[]) => Promise<Take>>(),
    hdel: jest.fn(async (..._args: unknown[]) => 1),
    hincrby: jest.fn(async (..._args: unknown[]) => 1),
    publish: jest.fn(async (..._args: unknown[]) => 1),
  };
}

/** A shopper whose home bucket is not the first one when the sale has `buckets` buckets. */
function shopperAwayFromFirst(buckets: number): string {
  for (let i = 0; ; i++) if (homeBucket(`user-${i}`, buckets) !== 0) return `user-${i}`;
}

describe('GateAdmission: the retries around the admission script', () => {
  let redis: ReturnType<typeof fakeRedis>;
  let layout: GateLayout;
  let gate: GateAdmission;
  let request: AdmitRequest;

  beforeEach(() => {
    redis = fakeRedis();
    layout = new GateLayout({ client: redis } as unknown as RedisService, sliceOf(RedisConfig, unitConfig()));
    gate = newTestService(GateAdmission, { use: [[GateLayout, layout]] }).sut;
    request = {
      ticket: { orderId: '01JORDER', saleId: SALE, userId: shopperAwayFromFirst(3), quantity: 1, admittedAt: 1 },
      ip: '127.0.0.1',
    };
  });

  const admitCalls = () => redis.gateAdmit.mock.calls;
  const homeKeys = (buckets: number) => layout.bucketKeys(SALE, homeBucket(request.ticket.userId, buckets), buckets);

  describe('layout change', () => {
    it('answered LAYOUT with another bucket count: sent again in that layout, which is then remembered', async () => {
      redis.gateAdmit.mockResolvedValueOnce(['LAYOUT', '3', '']).mockResolvedValue(['OK', '7', request.ticket.orderId]);
      expect(await gate.admit(request)).toEqual({ code: 'OK', remaining: 7, orderId: request.ticket.orderId });
      expect(admitCalls()).toHaveLength(2);
      expect(admitCalls()[0]![ARG.buckets]).toBe(1);
      expect(admitCalls()[0]![ARG.state]).toBe(layout.keys(SALE).state);
      expect(admitCalls()[1]![ARG.buckets]).toBe(3);
      expect(admitCalls()[1]![ARG.state]).toBe(homeKeys(3).state);
      expect(admitCalls()[1]![ARG.state]).not.toBe(layout.keys(SALE).state);
      // The next admission goes straight to the new layout.
      await gate.admit(request);
      expect(admitCalls()).toHaveLength(3);
      expect(admitCalls()[2]![ARG.buckets]).toBe(3);
    });

    it('sent again at most twice, then NOT_READY', async () => {
      let buckets = 1;
      redis.gateAdmit.mockImplementation(async () => ['LAYOUT', String(++buckets), '']);
      expect(await gate.admit(request)).toEqual({ code: 'NOT_READY', remaining: -1 });
      expect(admitCalls().map((c) => c[ARG.buckets])).toEqual([1, 2, 3]);
    });

    it('NOT_READY on a sale believed split: the layout is read afresh and the admission sent again', async () => {
      redis.buckets = '3';
      redis.gateAdmit.mockImplementationOnce(async () => {
        redis.buckets = null; // laid out anew with one bucket
        return ['NOT_READY', '-1', ''];
      });
      redis.gateAdmit.mockResolvedValue(['OK', '4', request.ticket.orderId]);
      expect((await gate.admit(request)).code).toBe('OK');
      expect(admitCalls().map((c) => c[ARG.buckets])).toEqual([3, 1]);
    });

    it('NOT_READY with the layout unchanged is the answer (no gate yet)', async () => {
      redis.gateAdmit.mockResolvedValue(['NOT_READY', '-1', '']);
      expect((await gate.admit(request)).code).toBe('NOT_READY');
      expect(admitCalls()).toHaveLength(1);
    });
  });

  describe('the layout lookup', () => {
    it('admissions that find it stale at the same moment share one read', async () => {
      redis.gateAdmit.mockResolvedValue(['OK', '7', request.ticket.orderId]);
      await Promise.all(Array.from({ length: 50 }, () => gate.admit(request)));
      expect(redis.hget).toHaveBeenCalledTimes(1);
      expect(admitCalls()).toHaveLength(50);
      // A failed read is not kept: the next admission reads again.
      layout.forget(SALE);
      redis.hget.mockRejectedValueOnce(new Error('Connection is closed.'));
      await expect(gate.admit(request)).rejects.toThrow('Connection is closed.');
      expect((await gate.admit(request)).code).toBe('OK');
      expect(redis.hget).toHaveBeenCalledTimes(3);
    });
  });

  describe('a dry bucket draws on the others', () => {
    const home = () => homeBucket(request.ticket.userId, 3);
    /** The state key of each donor asked, in order. */
    const donors = () => redis.gateTake.mock.calls.map((c) => c[0]);
    const keysOf = (b: number) => layout.bucketKeys(SALE, b, 3);

    beforeEach(() => {
      redis.buckets = '3';
    });

    it('takes from the other buckets in turn and admits with the transfer in the same call', async () => {
      const [first, second] = [(home() + 1) % 3, (home() + 2) % 3];
      redis.gateAdmit.mockResolvedValueOnce(['DRY', '0', '']).mockResolvedValue(['OK', '0', request.ticket.orderId]);
      redis.gateTake.mockResolvedValueOnce([0, 0, 'e1']).mockResolvedValueOnce([2, 3, 'e1']);
      expect(await gate.admit(request)).toEqual({ code: 'OK', remaining: 0, orderId: request.ticket.orderId });
      expect(donors()).toEqual([keysOf(first).state, keysOf(second).state]);
      const withTransfer = admitCalls()[1]!;
      expect(withTransfer[ARG.state]).toBe(keysOf(home()).state);
      expect([withTransfer[ARG.transferId], withTransfer[ARG.units], withTransfer[ARG.epoch]]).toEqual([
        `${request.ticket.orderId}.${second}`,
        2,
        'e1',
      ]);
      // The donor's record of the transfer goes once it was received.
      expect(redis.hdel).toHaveBeenCalledWith(keysOf(second).transfersOut, `${request.ticket.orderId}.${second}`);
      expect(redis.publish).not.toHaveBeenCalled();
    });

    it('two rounds: a donor found dry in the first may have units in the second', async () => {
      redis.gateAdmit.mockResolvedValueOnce(['DRY', '0', '']).mockResolvedValue(['OK', '0', request.ticket.orderId]);
      redis.gateTake
        .mockResolvedValueOnce([0, 0, 'e1'])
        .mockResolvedValueOnce([0, 0, 'e1'])
        .mockResolvedValueOnce([1, 0, 'e1']);
      expect((await gate.admit(request)).code).toBe('OK');
      expect(donors()).toEqual([(home() + 1) % 3, (home() + 2) % 3, (home() + 1) % 3].map((b) => keysOf(b).state));
    });

    it('no bucket has units: SOLD_OUT after two rounds, counted once and announced once', async () => {
      redis.gateAdmit.mockResolvedValue(['DRY', '0', '']);
      redis.gateTake.mockResolvedValue([0, 0, 'e1']);
      expect(await gate.admit(request)).toEqual({ code: 'SOLD_OUT', remaining: 0 });
      expect(redis.gateTake).toHaveBeenCalledTimes(4);
      expect(admitCalls()).toHaveLength(1);
      expect(redis.hincrby.mock.calls).toEqual([[keysOf(home()).stats, 'SOLD_OUT', 1]]);
      expect(redis.publish.mock.calls).toEqual([[layout.channel, `soldout:${SALE}`]]);
    });

    it('too few units for the quantity while a donor still had some: SOLD_OUT for this shopper, no news', async () => {
      request.ticket.quantity = 5;
      redis.gateAdmit.mockResolvedValue(['DRY', '1', '']);
      redis.gateTake.mockResolvedValueOnce([1, 2, 'e1']).mockResolvedValue([0, 0, 'e1']);
      expect(await gate.admit(request)).toEqual({ code: 'SOLD_OUT', remaining: 1 });
      expect(redis.publish).not.toHaveBeenCalled();
    });
  });

  describe('an aborted pipeline', () => {
    const aborted = () => Object.assign(new Error('Command aborted due to connection close'), { name: 'AbortError' });

    it('a call aborted with the connection is sent exactly once more', async () => {
      redis.gateAdmit.mockRejectedValueOnce(aborted()).mockResolvedValue(['OK', '3', request.ticket.orderId]);
      expect((await gate.admit(request)).code).toBe('OK');
      expect(admitCalls()).toHaveLength(2);
      expect(admitCalls()[1]).toEqual(admitCalls()[0]);
    });

    it('aborted twice: the error is the answer (no third send)', async () => {
      redis.gateAdmit.mockRejectedValue(aborted());
      await expect(gate.admit(request)).rejects.toMatchObject({ name: 'AbortError' });
      expect(admitCalls()).toHaveLength(2);
    });

    it('any other error is not sent again', async () => {
      redis.gateAdmit.mockRejectedValue(new Error('Connection is closed.'));
      await expect(gate.admit(request)).rejects.toThrow('Connection is closed.');
      expect(admitCalls()).toHaveLength(1);
    });
  });
});
