import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './processes.js';

const run = promisify(execFile);

/**
 * A Postgres server of its own (initdb into a temp folder, its own port,
 * pg_ctl): safe to stop and start under a running app, unlike the machine's
 * shared server. Postgres refuses to run as root: as root, its programs run
 * as the `postgres` user (runuser).
 */
export class OwnPostgres {
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'fs-pg-'));
  private readonly data = path.join(this.dir, 'data');
  private initialised = false;
  port = 0;

  /** The server's `postgres` database (trust authentication, user postgres). */
  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private async as(command: string, args: string[]): Promise<string> {
    const [file, argv] =
      userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
    return (await run(file, argv, { timeout: 120_000 })).stdout;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    if (!this.initialised) {
      if (userInfo().uid === 0) {
        const owner = await run('id', ['-u', 'postgres']);
        const group = await run('id', ['-g', 'postgres']);
        chownSync(this.dir, Number(owner.stdout), Number(group.stdout));
      }
      await this.as('initdb', ['-D', this.data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
      this.initialised = true;
    }
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c shared_buffers=32MB`;
    await this.as('pg_ctl', [
      '-D',
      this.data,
      '-l',
      path.join(this.dir, 'log'),
      '-o',
      options,
      '-w',
      '-t',
      '60',
      'start',
    ]);
  }

  /** pg_ctl stop: `fast` ends the sessions and shuts down cleanly; `immediate` is a crash (recovery at the next start). */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!this.initialised) return;
    await this.as('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', '60', 'stop']).catch((err: unknown) => {
      if (!/Is server running\?|PID file .* does not exist/.test(String(err))) throw err;
    });
  }

  async dispose(): Promise<void> {
    await this.stop('immediate');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
