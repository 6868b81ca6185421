import { describe, expect, it } from '@jest/globals';
import { AuthConfig, RoomConfig } from '../infra/config/app-config.js';
import { NEAR_HEAD_MS, nearHead } from '../overload/head-poll.js';
import { RoomTokens, type QueueMemo } from './room-tokens.js';

const tokens = new RoomTokens(
  Object.assign(new RoomConfig(), { ROOM_TOKEN_SECRET: '' }),
  Object.assign(new AuthConfig(), { JWT_SECRET: 'test-secret-test-secret-test-secret-0123' }),
);
const SALE = '6a1f0c3e-2b4d-4e8f-9a7b-1c2d3e4f5a6b';
const NOW = 1_800_000_000_000;

function token(over: Partial<QueueMemo>): string {
  return tokens.queueToken(SALE, 'u1', {
    state: 'waiting',
    position: 10,
    low: 30,
    high: 40,
    queueLength: 100,
    admitPerSecond: 1,
    refreshAt: NOW + 5000,
    at: NOW,
    ...over,
  });
}

describe('nearHead (the door reads a poll’s Queue-Token)', () => {
  it('is true when the earliest estimate told is due within NEAR_HEAD_MS, or past', () => {
    expect(nearHead(token({ low: 1 }), NOW)).toBe(true);
    expect(nearHead(token({ low: 0 }), NOW)).toBe(true);
    expect(nearHead(token({ low: 30 }), NOW + 30_000 - NEAR_HEAD_MS)).toBe(true);
    // A token that aged while its polls were shed: the shopper is at the head by now.
    expect(nearHead(token({ low: 30 }), NOW + 90_000)).toBe(true);
  });

  it('is true for a pre-queue token once the sale has started (the draw is done)', () => {
    expect(nearHead(token({ state: 'prequeue', position: null, low: 30 }), NOW + 30_000)).toBe(true);
    expect(nearHead(token({ state: 'prequeue', position: null, low: 30 }), NOW + 29_000)).toBe(false);
  });

  it('is false far from the head, before the start, and for no or a malformed token', () => {
    expect(nearHead(token({ low: 30 }), NOW)).toBe(false);
    expect(nearHead(token({ low: 30 }), NOW + 30_000 - NEAR_HEAD_MS - 1000)).toBe(false);
    // Before the start (a pre-queue token's `low` is the time to the start).
    expect(nearHead(token({ state: 'prequeue', position: null, low: 1 }), NOW)).toBe(false);
    expect(nearHead(undefined, NOW)).toBe(false);
    expect(nearHead(['a', 'b'], NOW)).toBe(false);
    expect(nearHead('nodot', NOW)).toBe(false);
    expect(nearHead('!!!.mac', NOW)).toBe(false);
    expect(nearHead(`${Buffer.from('{"state":"waiting"}').toString('base64url')}.mac`, NOW)).toBe(false);
  });
});
