import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { buy, createActiveSale } from './support/buy.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { startApi, type RunningApi } from './support/http.js';
import type { TestUser } from './support/users.js';

describe('purchase rate limits (429 RATE_LIMITED)', () => {
  let fx: ApiFixture;
  let config: AppConfig;
  let api: RunningApi;
  let admin: TestUser;
  let users: TestUser[];

  beforeAll(async () => {
    fx = await startFixture('ratelimit', { env: { RATE_LIMIT_USER_PER_SECOND: '3' }, users: 20 });
    ({ config, api, admin, users } = fx);
  });

  afterAll(async () => {
    await fx.close();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  /**
   * The limits count per second of the admission's own clock (Date.now() in
   * this process, where the API runs). Freezing it makes every shot of a burst
   * fall in the same second, however slowly the machine answers: the counts
   * below are exact, not bounds that assume a fast machine (the one real-time
   * bound left: Redis keeps a window's counter for 2 s after its first shot).
   * Timers stay real.
   */
  function freezeClock(): void {
    jest.useFakeTimers({
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
      now: Date.now(),
    });
  }

  it('per user: attempts beyond the limit within a second get 429 with Retry-After, others are unaffected', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 100, perUserLimit: 100 });
    freezeClock();
    const burst = await Promise.all(Array.from({ length: 10 }, () => buy(api.url, users[0]!, sale.id)));
    const limited = burst.filter((a) => a.status === 429);
    expect(burst.filter((a) => a.status === 202)).toHaveLength(3); // RATE_LIMIT_USER_PER_SECOND
    expect(limited).toHaveLength(7);
    expect(limited[0]!.body).toMatchObject({ code: 'RATE_LIMITED' });
    expect(limited[0]!.headers.get('retry-after')).toBe('1');
    expect((await buy(api.url, users[1]!, sale.id)).status).toBe(202); // the same second, another user
  });

  it('per IP: off by default, and when on, one address is limited whatever the user', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 100 });
    const many = await Promise.all(users.slice(2, 12).map((u) => buy(api.url, u, sale.id)));
    expect(many.every((a) => a.status === 202)).toBe(true); // 10 users from 127.0.0.1, no IP limit

    const strict = await startApi({ ...config, RATE_LIMIT_IP_PER_SECOND: 2 } as AppConfig);
    try {
      const other = await createActiveSale(strict.url, admin, { stock: 100 });
      freezeClock();
      const shots = await Promise.all(users.slice(12, 20).map((u) => buy(strict.url, u, other.id)));
      expect(shots.filter((a) => a.status === 202)).toHaveLength(2); // RATE_LIMIT_IP_PER_SECOND
      expect(shots.filter((a) => a.status === 429)).toHaveLength(6);
    } finally {
      await strict.close();
    }
  });
});
