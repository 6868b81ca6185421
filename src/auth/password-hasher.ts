import { Inject, Injectable } from '@nestjs/common';
import { AuthConfig, HttpConfig } from '../infra/config/app-config.js';
import { Semaphore, SemaphoreFull } from '../infra/concurrency/semaphore.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { DUMMY_HASH, hashPassword, verifyPassword } from './password.js';

/**
 * Password hashing with a bound: scrypt takes ~30-50 ms of a core in libuv's
 * thread pool, four at a time by default, so a login flood could take every
 * core from the buy path. At most PASSWORD_HASH_CONCURRENCY hashes run at
 * once in this process (default 1: one core of two); PASSWORD_HASH_QUEUE more
 * wait, and beyond that a login or registration is refused at once with
 * 503 BUSY and Retry-After instead of queueing for seconds.
 */
@Injectable()
export class PasswordHasher {
  private readonly slots: Semaphore;

  constructor(
    @Inject(AuthConfig) config: AuthConfig,
    @Inject(HttpConfig) private readonly http: HttpConfig,
  ) {
    this.slots = new Semaphore(config.PASSWORD_HASH_CONCURRENCY, config.PASSWORD_HASH_QUEUE);
  }

  /** Hashes running now (never above PASSWORD_HASH_CONCURRENCY). */
  get running(): number {
    return this.slots.running;
  }

  /** Hashes waiting for a slot (never above PASSWORD_HASH_QUEUE). */
  get waiting(): number {
    return this.slots.waiting;
  }

  /**
   * Refuses at once (503 BUSY) when a hash could not even wait for a slot, so
   * a flood's attempts cost no database lookup either. `hash`/`verify` check
   * again (this is only the early answer).
   */
  ensureRoom(): void {
    if (this.slots.full) throw this.busy();
  }

  hash(password: string): Promise<string> {
    return this.bounded(() => hashPassword(password));
  }

  /** Checks against the stored hash, or against a dummy one when there is none (same time either way). */
  verify(password: string, stored: string | undefined): Promise<boolean> {
    return this.bounded(async () => verifyPassword(password, stored ?? (await DUMMY_HASH)));
  }

  private async bounded<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await this.slots.run(work);
    } catch (err) {
      if (!(err instanceof SemaphoreFull)) throw err;
      throw this.busy();
    }
  }

  private busy(): DomainError {
    return new DomainError('BUSY', 'Too many sign-ins at once; try again shortly', undefined, {
      'retry-after': String(this.http.RETRY_AFTER_SECONDS),
    });
  }
}
