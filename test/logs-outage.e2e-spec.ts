import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, testEnv, type TestDatabase } from './support/env.js';
import { freePort, runNode, type Child } from './support/processes.js';
import { OwnRedis } from './support/redis-server.js';
import { waitFor } from './support/wait-for.js';

const OUTAGE_MS = 8000;

function parse(output: string): { lines: Record<string, unknown>[]; unparsable: string[] } {
  const lines: Record<string, unknown>[] = [];
  const unparsable: string[] = [];
  for (const line of output.split('\n').filter((l) => l.trim() !== '')) {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      unparsable.push(line);
    }
  }
  return { lines, unparsable };
}

/**
 * The API and a worker (built entry points, their stdout and stderr read
 * together) through a Redis outage: the test's own redis-server killed for
 * 8 s, then started again empty. Every line either process writes stays
 * JSON, and the connection errors come collapsed (before: ~520 raw
 * `Error: connect ECONNREFUSED` stack traces from one worker in one outage).
 */
describe('logs through a Redis outage: every line JSON, repeated errors collapsed', () => {
  let db: TestDatabase;
  const redis = new OwnRedis();
  let api: Child;
  let worker: Child;
  let apiUrl: string;

  beforeAll(async () => {
    await redis.start();
    db = await createTestDatabase('logs');
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    // A loaded machine closes slowly: the shutdown's bound is raised so a slow close is not an exit 1.
    const env = testEnv(db.url, {
      REDIS_URL: redis.url,
      LOG_LEVEL: 'log',
      LOG_REQUESTS: 'true',
      HOST: '127.0.0.1',
      SHUTDOWN_TIMEOUT_MS: '30000',
    });
    api = runNode('main.js', { ...env, PORT: String(port) });
    worker = runNode('worker.js', { ...env, WORKER_OPS_PORT: String(await freePort()) });
    await Promise.all([api.waitFor(/API listening/, 60_000), worker.waitFor(/worker ready/, 60_000)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([api?.stop('SIGKILL'), worker?.stop('SIGKILL')]);
    await redis.dispose();
    await db.drop();
  });

  it('kills Redis under both processes, brings it back empty; stdout and stderr parse line by line', async () => {
    await redis.stop();
    const downAt = Date.now();
    // Both have noticed (their first collapsed line is written at once).
    await Promise.all([api.waitFor(/ECONNREFUSED/, 20_000), worker.waitFor(/ECONNREFUSED/, 20_000)]);
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - downAt))));
    await redis.start();
    await waitFor(
      'the API healthy again',
      () =>
        fetch(`${apiUrl}/health`).then(
          (r) => r.status,
          () => 0,
        ),
      (status) => status === 200,
      60_000,
    );
    const codes = await Promise.all([api.stop('SIGTERM'), worker.stop('SIGTERM')]);
    if (codes.some((code) => code !== 0)) {
      const tail = (child: Child): string => child.output().split('\n').slice(-15).join('\n');
      throw new Error(
        `exit codes (api, worker) ${codes.join(', ')}; api's last lines:\n${tail(api)}\nworker's:\n${tail(worker)}`,
      );
    }

    for (const [name, child] of [
      ['api', api],
      ['worker', worker],
    ] as const) {
      const { lines, unparsable } = parse(child.output());
      expect([name, unparsable]).toEqual([name, []]);
      const refused = lines.filter((l) => JSON.stringify(l).includes('ECONNREFUSED'));
      console.log(`${name}: ${lines.length} lines, ${refused.length} about ECONNREFUSED`);
      // One line at once, then one per 10 s with the count and the sources: a handful, not hundreds.
      expect(refused.length).toBeGreaterThan(0);
      expect([name, refused.length <= 4]).toEqual([name, true]);
      expect(lines.every((l) => typeof l.level === 'number' && typeof l.time === 'number')).toBe(true);
    }
  }, 120_000);
});
