/**
 * `npm run bench:accept [-- --connections 4000] [--per-turn 1,16,128,256] [--rounds 2]`
 *
 * What the extra listening descriptors of ACCEPT_PER_TURN cost a server that
 * is not busy (docs/overload.md, "Accepting connections"): a bare
 * `node:http` server with `acceptMore` (the API's own code), and a client
 * that opens a new connection for every request, four at a time, so the
 * accept queue is nearly always empty and every pending connection wakes
 * every descriptor (all but one `accept4` find nothing). Prints the server's
 * CPU µs per connection (a connection, one request, its close) for each
 * setting, in rounds, interleaved. A busy server pays nothing: its accept
 * queue holds a connection for every descriptor.
 */
import { fork } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { acceptMore } from '../src/infra/http/accept-more.js';

const { values: flags } = parseArgs({
  options: {
    serve: { type: 'string' },
    connections: { type: 'string', default: '4000' },
    'per-turn': { type: 'string', default: '1,16,128,256' },
    rounds: { type: 'string', default: '2' },
  },
});

/** The server (a child of the bench): answers every request with `ok`; reports its CPU when asked. */
function serve(perTurn: number): void {
  const server = createServer((_req, res) => res.end('ok'));
  server.listen(0, '127.0.0.1', 4096, () => {
    void acceptMore(server, perTurn, 4096).then(() => process.send!({ port: (server.address() as AddressInfo).port }));
  });
  process.on('message', () => {
    const cpu = process.cpuUsage();
    process.send!({ cpu: cpu.user + cpu.system });
  });
}

async function measure(perTurn: number, connections: number): Promise<number> {
  const child = fork(import.meta.filename, ['--serve', String(perTurn)]);
  try {
    const port = await new Promise<number>((resolve) =>
      child.once('message', (m: { port: number }) => resolve(m.port)),
    );
    const cpu = (): Promise<number> =>
      new Promise((resolve) => {
        child.once('message', (m: { cpu: number }) => resolve(m.cpu));
        child.send('cpu');
      });
    const once = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const req = request({ port, host: '127.0.0.1', agent: false, path: '/' }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
    const lanes = async (n: number): Promise<void> => {
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < n / 4; i++) await once();
        }),
      );
    };
    await lanes(500); // JIT warm
    const before = await cpu();
    await lanes(connections);
    return (await cpu()) - before;
  } finally {
    child.kill();
  }
}

async function main(): Promise<void> {
  const connections = Number(flags.connections);
  const settings = flags['per-turn']!.split(',').map(Number);
  const figures: Record<number, number[]> = {};
  for (let round = 0; round < Number(flags.rounds); round++) {
    for (const perTurn of settings) {
      const micros = (await measure(perTurn, connections)) / connections;
      (figures[perTurn] ??= []).push(Math.round(micros * 10) / 10);
    }
  }
  console.log(`server CPU µs per new connection (one request each, 4 at a time), by ACCEPT_PER_TURN:`);
  for (const [perTurn, values] of Object.entries(figures)) console.log(`  ${perTurn}: ${values.join(', ')}`);
}

if (flags.serve) serve(Number(flags.serve));
else
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
