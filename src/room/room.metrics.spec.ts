import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import type { MetricsRegistry } from '../infra/metrics/metrics.registry.js';
import { RoomMetrics } from './room.metrics.js';

describe('room metrics', () => {
  it('joins and polls counted between scrapes are in the counters when read, once', async () => {
    const registry = new Registry();
    const metrics = new RoomMetrics({ registry } as unknown as MetricsRegistry);
    metrics.joined('s1');
    metrics.polled('s1', 'token');
    metrics.polled('s1', 'token');
    metrics.polled('s1', 'redis');
    metrics.polled('s2', 'redis');
    const first = await registry.metrics();
    expect(first).toContain('flash_room_joins_total{sale="s1"} 1');
    expect(first).toContain('flash_room_polls_total{sale="s1",source="token"} 2');
    expect(first).toContain('flash_room_polls_total{sale="s1",source="redis"} 1');
    expect(first).toContain('flash_room_polls_total{sale="s2",source="redis"} 1');
    metrics.polled('s1', 'token');
    const second = await registry.metrics();
    expect(second).toContain('flash_room_polls_total{sale="s1",source="token"} 3');
    expect(second).toContain('flash_room_joins_total{sale="s1"} 1');
  });
});
