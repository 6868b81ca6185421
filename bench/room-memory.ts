/**
 * Redis memory of N waiters: a Redis of its own, empty, one sale's room, N
 * shoppers joined by calling the room's JOIN script directly (no HTTP; the
 * same script and arguments as RoomStore.join), in pipelines; used_memory
 * before and after. Half join before the start (the pre-queue, a uniform
 * draw as score), half after it (the join sequence), as in the HTTP run.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { roomKeyList, roomKeys } from '../src/room/room.keys.js';
import { JOIN_LUA } from '../src/room/room.scripts.js';
import { uniformDraw } from '../src/room/room.store.js';
import { OwnRedis } from '../test/support/redis-server.js';

export interface WaiterMemory {
  waiters: number;
  /** used_memory after the joins minus before (bytes). */
  bytes: number;
  bytesPerWaiter: number;
  /** Joins per second through the script, pipelined (Redis alone, no HTTP). */
  joinsPerSecond: number;
  seconds: number;
  /** What Redis says the room holds (ZCARD of the queue). */
  queued: number;
}

type Join = (...args: (string | number)[]) => Promise<unknown>;

const BATCH = 5000;

export async function millionWaiters(waiters: number): Promise<WaiterMemory> {
  const server = new OwnRedis();
  await server.start();
  const redis = new Redis(server.url);
  try {
    redis.defineCommand('roomJoin', { numberOfKeys: 9, lua: JOIN_LUA });
    const keys = roomKeyList(roomKeys('fsmem', '01JROOMMEMORYBENCH00000000'));
    const now = Date.now();
    const settings = (version: string, startsAt: number): (string | number)[] => [
      version,
      500, // rate
      10_000, // maxActive
      60_000, // claim window (ms)
      startsAt,
      now + 24 * 3600_000, // endsAt
      now - 3600_000, // pre-queue opens
      waiters * 2, // maxQueue
      0, // not paused
    ];
    const pre = settings('1', now + 12 * 3600_000); // versions: newer ones replace the settings
    const post = settings('2', now - 60_000);
    // The script cached and the room's settings written before the measurement.
    await (redis as unknown as { roomJoin: Join }).roomJoin(...keys, ...pre, 'warm-up', uniformDraw(), 3600_000, 0);
    await redis.call('SCRIPT', 'LOAD', JOIN_LUA);
    const before = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
    const started = performance.now();
    for (let i = 0; i < waiters; i += BATCH) {
      const pipeline = redis.pipeline() as unknown as { roomJoin: Join; exec(): Promise<unknown> };
      for (let j = i; j < Math.min(i + BATCH, waiters); j++) {
        void pipeline.roomJoin(...keys, ...(j < waiters / 2 ? pre : post), randomUUID(), uniformDraw(), 3600_000, 0);
      }
      await pipeline.exec();
    }
    const seconds = (performance.now() - started) / 1000;
    const after = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
    const queued = await redis.zcard(keys[1]!);
    return {
      waiters,
      bytes: after - before,
      bytesPerWaiter: Math.round((after - before) / waiters),
      joinsPerSecond: Math.round(waiters / seconds),
      seconds: Math.round(seconds * 10) / 10,
      queued,
    };
  } finally {
    redis.disconnect();
    await server.dispose();
  }
}
