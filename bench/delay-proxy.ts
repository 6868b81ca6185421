/**
 * A TCP proxy in front of Redis that can make it slower: while `delayMs` is
 * above 0, every answer is held that long before it goes back (order kept:
 * the same delay for every chunk of a connection).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class DelayProxy {
  delayMs = 0;
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  async start(targetPort: number): Promise<number> {
    this.server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      this.sockets.add(client).add(upstream);
      client.on('data', (chunk: Buffer) => upstream.write(chunk));
      // Answers leave in order: never before one held earlier (when the delay is switched off).
      let releaseAt = 0;
      upstream.on('data', (chunk: Buffer) => {
        const now = Date.now();
        releaseAt = Math.max(releaseAt, now + this.delayMs);
        if (releaseAt > now) setTimeout(() => client.write(chunk), releaseAt - now);
        else client.write(chunk);
      });
      const end = (): void => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
