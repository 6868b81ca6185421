import { describe, expect, it } from '@jest/globals';
import { queueViewJson } from './queue-view-json.js';
import { QUEUE_VIEW_EXAMPLE } from './queue-view.dto.js';
import type { QueueView } from './room.service.js';

/** The documented example as a view, in the DTO's order, as RoomService builds them. */
function view(over: Partial<QueueView>): QueueView {
  return { ...QUEUE_VIEW_EXAMPLE, startsAt: new Date(1_800_000_000_123), ...over } as QueueView;
}

describe('queueViewJson', () => {
  it('writes what JSON.stringify writes, byte for byte, in every state', () => {
    const views = [
      view({}),
      view({ state: 'prequeue', position: null, estimatedWaitSeconds: { low: 0, high: 0 } }),
      view({
        state: 'admitted',
        position: null,
        queueToken: null,
        admission: { token: 'lq3x0k.lq3y8s.abcdefghijklmnopqrstuv', expiresAt: new Date(1_800_000_060_000) },
      }),
      view({ state: 'sold_out', admitPerSecond: 0.1, queueLength: 0, queueToken: null }),
      // Odd figures write as JSON writes them: -0 as 0, NaN and Infinity as null, an invalid Date as null.
      view({ state: 'closed', position: -0, admitPerSecond: Number.NaN, queueLength: Infinity }),
      view({ startsAt: new Date(Number.NaN), refreshAfterSeconds: 1e21 }),
      view({ queueToken: 'a "quoted" \\ token\n' }),
    ];
    for (const v of views) expect(queueViewJson(v)).toBe(JSON.stringify(v));
  });
});
