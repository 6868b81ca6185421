import { describe, expect, it } from '@jest/globals';
import type { DoorState, DoorsReader } from '../overload/doors.js';
import { GONE_AFTER_MS } from './room-terms.js';
import { ShedGrace, ShedSeconds } from './shed-grace.js';

const T0 = 1_800_000_000_000;
const s = (n: number): number => T0 + n * 1000;

describe('ShedSeconds (a shed poll is not silence)', () => {
  it('gives no grace when no poll was shed', () => {
    expect(new ShedSeconds().graceMs(s(100))).toBe(0);
  });

  it('gives as much grace as polls were shed within the unshed silence horizon', () => {
    const shed = new ShedSeconds();
    // Polls shed for 30 s, from 100 s to 129 s.
    for (let i = 100; i < 130; i++) shed.mark(s(i) + 500);
    // At 140 s: all 30 shed seconds lie within the last 60 unshed ones.
    expect(shed.graceMs(s(140))).toBe(30_000);
    // At 185 s the walk back meets 56 unshed seconds (185…130), the 30 shed ones, then 4 more unshed (99…96).
    expect(shed.graceMs(s(185))).toBe(30_000);
    // Long after: the shed seconds lie beyond 60 unshed seconds, no grace.
    expect(shed.graceMs(s(200))).toBe(0);
  });

  it('keeps a waiter whose every poll is shed, however long the shedding lasts (up to its horizon)', () => {
    const shed = new ShedSeconds();
    for (let i = 0; i <= 600; i++) shed.mark(s(i));
    expect(shed.graceMs(s(600))).toBe(601_000);
    expect(shed.graceMs(s(600), GONE_AFTER_MS) + GONE_AFTER_MS).toBeGreaterThan(600_000);
  });
});

describe('ShedGrace (the admitter reads the doors)', () => {
  const door = (over: Partial<DoorState>): DoorState =>
    ({ copy: 'c', at: s(10), limit: 100, inFlight: 0, pressure: 0, overloaded: false, ...over }) as DoorState;
  const reader = (states: DoorState[][]): DoorsReader => {
    let i = 0;
    return { read: () => Promise.resolve(states[Math.min(i++, states.length - 1)]!) } as unknown as DoorsReader;
  };

  it('marks the seconds in which any copy reported shed polls, reading the doors once a second', async () => {
    const grace = new ShedGrace(
      reader([
        [door({ at: s(10), pollsShedPerSecond: 0 }), door({ copy: 'd', at: s(10), pollsShedPerSecond: 250 })],
        [door({ at: s(11), pollsShedPerSecond: 0 })],
      ]),
    );
    // The state of 10 s covers 9–10 s: two seconds of grace.
    expect(await grace.graceMs(s(10))).toBe(2000);
    // Within the second: the doors are not read again.
    expect(await grace.graceMs(s(10) + 500)).toBe(2000);
    expect(await grace.graceMs(s(11))).toBe(2000);
  });

  it('gives no grace for copies that shed nothing, or that do not report the field', async () => {
    const grace = new ShedGrace(reader([[door({ pollsShedPerSecond: 0 }), door({})]]));
    expect(await grace.graceMs(s(10))).toBe(0);
  });

  it('goes on when the doors cannot be read', async () => {
    const failing = { read: () => Promise.reject(new Error('down')) } as unknown as DoorsReader;
    expect(await new ShedGrace(failing).graceMs(s(10))).toBe(0);
  });
});
