import { spawn } from 'node:child_process';
import { Server as NetServer, type Server } from 'node:net';

/** Longest the copies of the listening socket may take to arrive at start. */
const COPY_TIMEOUT_MS = 10_000;

/**
 * The copier, a short-lived child: sent the listening socket (as a bare
 * handle: it never listens or accepts), it sends it back `copies` times, each
 * arriving here as a descriptor of its own, and leaves when this process
 * disconnects (handles go one at a time, each after the other's receipt).
 */
const COPIER = `process.on('message', (m, socket) => {
  for (let i = 0; i < m.copies; i++) process.send({ copy: i }, socket);
});`;

/**
 * Node accepts at most one connection per listening descriptor in each turn
 * of its event loop (libuv ≥ 1.45, Node 20). A busy API whose turns take tens
 * of milliseconds then accepts a few dozen connections a second: a crowd's
 * new connections wait seconds in the kernel's accept queue before the API
 * sees them — where no overload control can answer them (docs/overload.md,
 * "Accepting connections"). Node 20 has no SO_REUSEPORT; instead the
 * listening socket gets `perTurn - 1` more descriptors (passed to a
 * short-lived child and back: each arrives as a new one), each registered in
 * the event loop on its own, and every connection any of them accepts goes
 * to the HTTP server as its own would. Closing the server closes them first.
 *
 * Returns how many descriptors listen in all; throws when the copies could
 * not be made (the server goes on with its own one).
 */
export async function acceptMore(server: Server, perTurn: number, backlog: number): Promise<number> {
  const handle = (server as unknown as { _handle?: object })._handle;
  if (perTurn <= 1 || !handle || process.platform === 'win32') return 1;
  const copies = perTurn - 1;
  const extras: NetServer[] = [];
  const copier = spawn(process.execPath, ['-e', COPIER], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let settled = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the copies did not arrive in time')), COPY_TIMEOUT_MS);
      copier.on('message', (_message, copy: { close?: () => void }) => {
        if (settled) return copy.close?.();
        // As Node's HTTP server listens: half-open allowed, no Nagle.
        const extra = new NetServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
          server.emit('connection', socket),
        );
        // The backlog again: listen() on the shared socket sets it for all of its descriptors.
        extra.listen(copy, backlog);
        extras.push(extra);
        if (extras.length === copies) {
          clearTimeout(timer);
          resolve();
        }
      });
      copier.once('error', reject);
      copier.once('exit', () => reject(new Error('the copier left early')));
      copier.send({ copies }, handle as never);
    });
  } catch (err) {
    for (const extra of extras) extra.close();
    throw err;
  } finally {
    settled = true;
    if (copier.connected) copier.disconnect();
    if (copier.exitCode === null) copier.kill();
  }
  const close = server.close.bind(server);
  server.close = ((callback?: (err?: Error) => void) => {
    for (const extra of extras) extra.close();
    return close(callback);
  }) as Server['close'];
  return 1 + extras.length;
}
