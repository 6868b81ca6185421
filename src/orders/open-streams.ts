import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { HttpConfig } from '../infra/config/app-config.js';
import { DomainError } from '../infra/errors/domain-error.js';

/**
 * Counts the event streams open in this API process, in all and per user,
 * and refuses one more beyond SSE_MAX_STREAMS (503 STREAMS_BUSY) or
 * SSE_MAX_STREAMS_PER_USER (429 TOO_MANY_STREAMS). Each API copy counts its
 * own streams, so a user may hold SSE_MAX_STREAMS_PER_USER on each copy.
 * At shutdown every stream is ended first, so the HTTP server can close
 * (clients reconnect to another copy) instead of waiting out their lifetime.
 */
@Injectable()
export class OpenStreams implements BeforeApplicationShutdown {
  private total = 0;
  private readonly perUser = new Map<string, number>();
  private readonly closers = new Set<() => void>();

  constructor(@Inject(HttpConfig) private readonly config: HttpConfig) {}

  /** Open streams of this process. */
  get size(): number {
    return this.total;
  }

  /**
   * Takes a slot for the user or throws; the returned function gives it back
   * (once, however often called). `close` ends the stream at shutdown.
   */
  open(userId: string, close: () => void): () => void {
    const mine = this.perUser.get(userId) ?? 0;
    if (mine >= this.config.SSE_MAX_STREAMS_PER_USER) {
      throw new DomainError(
        'TOO_MANY_STREAMS',
        `At most ${this.config.SSE_MAX_STREAMS_PER_USER} status streams at once; close one first`,
      );
    }
    if (this.total >= this.config.SSE_MAX_STREAMS) {
      throw new DomainError('STREAMS_BUSY', 'Too many status streams are open; try again shortly', undefined, {
        'retry-after': String(this.config.RETRY_AFTER_SECONDS),
      });
    }
    this.total += 1;
    this.perUser.set(userId, mine + 1);
    this.closers.add(close);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.closers.delete(close);
      this.total -= 1;
      const left = (this.perUser.get(userId) ?? 1) - 1;
      if (left > 0) this.perUser.set(userId, left);
      else this.perUser.delete(userId);
    };
  }

  beforeApplicationShutdown(): void {
    for (const close of [...this.closers]) close();
  }
}
