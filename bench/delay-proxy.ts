/**
 * A TCP proxy in front of Redis that can make it slower: while `delayMs` is
 * above 0, every answer is held that long before it goes back (order kept:
 * the same delay for every chunk of a connection).
 */
import type { Socket } from 'node:net';
import { TcpProxy } from './tcp-proxy.js';

export class DelayProxy extends TcpProxy {
  delayMs = 0;

  protected pipe(client: Socket, upstream: Socket): void {
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    // Answers leave in order: never before one held earlier (when the delay is switched off).
    let releaseAt = 0;
    upstream.on('data', (chunk: Buffer) => {
      const now = Date.now();
      releaseAt = Math.max(releaseAt, now + this.delayMs);
      if (releaseAt > now) setTimeout(() => client.write(chunk), releaseAt - now);
      else client.write(chunk);
    });
  }
}
