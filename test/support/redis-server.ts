import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './processes.js';

/** A redis-server of the test's own, on its own port: safe to stop or flush. */
export class OwnRedis {
  private child?: ChildProcess;
  private dir = mkdtempSync(path.join(tmpdir(), 'fs-redis-'));
  port = 0;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The running server's pid (undefined when stopped). */
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  async start(extraArgs: string[] = []): Promise<void> {
    if (!this.port) this.port = await freePort();
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        ...extraArgs,
      ],
      { stdio: 'ignore' },
    );
    const probe = new Redis(this.port, '127.0.0.1', {
      lazyConnect: true,
      retryStrategy: () => 50,
      maxRetriesPerRequest: null,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect().catch(() => undefined);
      // Loading an append-only file answers LOADING until done: wait for a real PONG.
      for (;;) {
        try {
          await probe.ping();
          break;
        } catch (err) {
          if (!/LOADING/.test(String(err))) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } finally {
      probe.disconnect();
    }
  }

  /** SIGKILL by default (a crash); SIGTERM shuts down cleanly (the append-only file flushed). */
  async stop(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    this.child = undefined;
  }

  /** Deletes the stopped server's files (append-only file, dump): the next start is empty. */
  wipe(): void {
    if (this.pid) throw new Error('wipe() needs the server stopped');
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
