import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './processes.js';

const run = promisify(execFile);

interface Node {
  port: number;
  dir: string;
  child?: ChildProcess;
}

/**
 * A Redis Cluster of the test's own: `masters` redis-server processes in
 * cluster mode on free ports (own data dirs, nothing kept on disk), each with
 * `replicas` replicas, joined by `redis-cli --cluster create`. Safe to kill
 * nodes of; dispose() stops every process it started.
 */
export class OwnRedisCluster {
  private readonly root = mkdtempSync(path.join(tmpdir(), 'fs-cluster-'));
  private readonly nodes: Node[] = [];

  constructor(
    private readonly masters = 3,
    private readonly replicas = 0,
    private readonly nodeTimeoutMs = 2000,
  ) {}

  /** REDIS_CLUSTER_NODES for the app. */
  get seeds(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  get ports(): number[] {
    return this.nodes.map((n) => n.port);
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.masters * (1 + this.replicas); i++) {
      let port = await freePort();
      // A port freed a moment ago can be handed out again: never give two nodes the same one.
      while (this.nodes.some((n) => n.port === port)) port = await freePort();
      const dir = path.join(this.root, String(port));
      mkdirSync(dir);
      this.nodes.push({ port, dir });
    }
    await Promise.all(this.nodes.map((n) => this.startNode(n)));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...this.nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      String(this.replicas),
      '--cluster-yes',
    ]);
    await this.waitUntil(async () => {
      for (const n of this.nodes) {
        const info = await this.call(n.port, 'CLUSTER', 'INFO');
        if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
      }
      // Every replica synced with its master (a replica that is not cannot take over).
      for (const n of this.nodes) {
        const replication = await this.call(n.port, 'INFO', 'replication');
        if (/role:slave/.test(replication) && !/master_link_status:up/.test(replication)) return false;
      }
      return true;
    }, 30_000);
  }

  private async startNode(node: Node): Promise<void> {
    node.child = spawn(
      'redis-server',
      [
        '--port',
        String(node.port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        String(this.nodeTimeoutMs),
        '--save',
        '',
        '--appendonly',
        'no',
        '--repl-diskless-sync-delay',
        '0',
        '--dir',
        node.dir,
      ],
      { stdio: 'ignore' },
    );
    // Generous: six servers start at once, on a machine that may be busy.
    await this.waitUntil(async () => (await this.call(node.port, 'PING').catch(() => '')) === 'PONG', 30_000);
  }

  /** One command to one node, on a short-lived connection. */
  async call(port: number, ...args: string[]): Promise<string> {
    const client = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return String(await client.call(args[0]!, ...args.slice(1)));
    } finally {
      client.disconnect();
    }
  }

  /** The port of the master that serves a key's slot now. */
  async masterOf(key: string): Promise<number> {
    const live = this.nodes.find((n) => n.child && n.child.exitCode === null && n.child.signalCode === null)!;
    const slot = Number(await this.call(live.port, 'CLUSTER', 'KEYSLOT', key));
    const client = new Redis(live.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const ranges = (await client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const range = ranges.find(([from, to]) => slot >= from && slot <= to)!;
      return Number(range[2][1]);
    } finally {
      client.disconnect();
    }
  }

  /** SIGKILLs the node on this port (a master dies: its replica takes over after the node timeout). */
  async kill(port: number): Promise<void> {
    const node = this.nodes.find((n) => n.port === port)!;
    const child = node.child!;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /**
   * Starts a killed node again on its port and data dir: it rejoins (nodes.conf) as a replica of
   * the master that took its slots over. Resolves once every replica of the cluster is synced.
   */
  async revive(port: number): Promise<void> {
    const node = this.nodes.find((n) => n.port === port)!;
    if (node.child && node.child.exitCode === null && node.child.signalCode === null) return;
    await this.startNode(node);
    await this.waitUntil(async () => {
      const replication = await this.call(port, 'INFO', 'replication');
      return /role:slave/.test(replication) && /master_link_status:up/.test(replication);
    }, 30_000);
  }

  /** Resolves once the slot of `key` is served by a master other than `formerPort` and the cluster is ok. */
  async waitForFailover(key: string, formerPort: number, timeoutMs = 30_000): Promise<number> {
    let now = formerPort;
    await this.waitUntil(async () => {
      now = await this.masterOf(key).catch(() => formerPort);
      if (now === formerPort) return false;
      return /cluster_state:ok/.test(await this.call(now, 'CLUSTER', 'INFO'));
    }, timeoutMs);
    return now;
  }

  private async waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`redis cluster: timed out after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async dispose(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        const child = n.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(this.root, { recursive: true, force: true });
  }
}
