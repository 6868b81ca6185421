import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Child {
  process: ChildProcess;
  output(): string;
  /** Resolves when the output matches, rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs a built entry point (dist/<name>.js) with exactly the env given (plus
 * PATH), from a folder other than the repo's; `args` follow the script,
 * `root` is the installation whose dist/ runs (default: this repo).
 */
export function runNode(
  script: string,
  env: Record<string, string>,
  { args = [], root = ROOT }: { args?: string[]; root?: string } = {},
): Child {
  const child = spawn(process.execPath, [path.join(root, 'dist', script), ...args], {
    // Not the repo root: a developer's .env there must not leak into the test.
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    out += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    output: () => out,
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(out)) finish(() => resolve());
        };
        const finish = (fn: () => void): void => {
          listeners.delete(check);
          clearTimeout(timer);
          fn();
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`timed out waiting for ${pattern}; output:\n${out}`))),
          timeoutMs,
        );
        listeners.add(check);
        void exited.then((code) =>
          finish(() =>
            pattern.test(out) ? resolve() : reject(new Error(`exited (${code}) before ${pattern}:\n${out}`)),
          ),
        );
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
