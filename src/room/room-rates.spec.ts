import { describe, expect, it } from '@jest/globals';
import { GateConfig, RoomConfig } from '../infra/config/app-config.js';
import type { GateLayout } from '../gate/gate-layout.js';
import type { GateReadModel } from '../gate/gate-read-model.js';
import type { GateRebuild } from '../gate/gate-rebuild.js';
import type { DoorState, DoorsReader } from '../overload/doors.js';
import type { RoomSale } from './room-sale.js';
import { RoomRates } from './room-rates.js';

const T0 = 1_800_000_000_000;

function room(admitPerSecond: number | 'auto'): RoomSale {
  return {
    id: 's1',
    version: '1',
    startsAt: T0 - 60_000,
    endsAt: T0 + 3_600_000,
    paymentWindowMs: 900_000,
    room: { admitPerSecond, maxActive: 5000, claimSeconds: 60, prequeueOpensAt: null, maxQueue: null, paused: false },
  };
}

/** The purchase path as the doors and the gate would report it (the law itself is overload's, tested there). */
function rates(door: Partial<DoorState>, backlog = 0) {
  const state = {
    at: T0,
    overloaded: false,
    purchasesShedPerSecond: 0,
    purchaseP99Ms: 50,
    inFlight: 1,
    limit: 100,
    ...door,
  } as DoorState;
  let persisted = 0;
  return new RoomRates(
    Object.assign(new RoomConfig(), { ROOM_DEFAULT_ADMIT_PER_SECOND: 500 }),
    new GateConfig(),
    { read: async () => [state] } as unknown as DoorsReader,
    { pendingCount: async () => backlog } as unknown as GateReadModel,
    { persistedMark: async () => [(persisted += 400)] } as unknown as GateRebuild,
    { bucketsOf: async () => 1 } as unknown as GateLayout,
  );
}

describe('a room’s admission rate (fake clock)', () => {
  it('a fixed rate is the configured one', async () => {
    expect(await rates({}).rateFor(room(120), T0)).toBe(120);
  });

  it('auto starts at the default, steps once a second, grows with headroom', async () => {
    const r = rates({});
    expect(await r.rateFor(room('auto'), T0)).toBe(500);
    expect(await r.rateFor(room('auto'), T0 + 500)).toBe(500);
    const next = await r.rateFor(room('auto'), T0 + 1000);
    expect(next).toBeGreaterThan(500);
    expect(r.lastStep('s1')?.reason).toBe('headroom');
  });

  it('auto backs off when purchases are shed at a door', async () => {
    const r = rates({ purchasesShedPerSecond: 3, overloaded: true });
    await r.rateFor(room('auto'), T0);
    expect(await r.rateFor(room('auto'), T0 + 1000)).toBe(350);
    expect(await r.rateFor(room('auto'), T0 + 2000)).toBeCloseTo(245);
  });

  it('auto follows the drain once the backlog is over its bound', async () => {
    const r = rates({}, 50_000);
    await r.rateFor(room('auto'), T0);
    await r.rateFor(room('auto'), T0 + 1000); // notes the persisted counter
    // 400 units persisted per second: admission goes no faster than that.
    expect(await r.rateFor(room('auto'), T0 + 2000)).toBeLessThanOrEqual(400);
    expect(r.lastStep('s1')?.reason).toBe('backlog');
  });
});
