/**
 * Redis memory of N waiters: a Redis of its own, empty, one sale's room, N
 * shoppers joined by calling the room's JOIN script directly (no HTTP), in
 * pipelines; used_memory before and after.
 */
export interface WaiterMemory {
  waiters: number;
  bytes: number;
  bytesPerWaiter: number;
  seconds: number;
}

export function millionWaiters(waiters: number): Promise<WaiterMemory> {
  // Filled in once the room's scripts land (src/room/room.scripts.ts).
  return Promise.resolve({ waiters, bytes: 0, bytesPerWaiter: 0, seconds: 0 });
}
