import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuthConfig, RedisConfig } from '../infra/config/app-config.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { RedisService } from '../infra/redis/redis.module.js';

/** One attempt in a fixed window: the count so far and the ms left in the window. */
const HIT_LUA = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;

/** Longest wait on Redis before an attempt goes through unthrottled. */
const REDIS_WAIT_MS = 500;

/**
 * Throttles of logins (per account and per client address) and registrations
 * (per address), counted in Redis so every API copy shares them: fixed
 * windows, counted before the password is hashed (a flood cannot spend CPU
 * past the limit), 429 RATE_LIMITED with Retry-After = the rest of the window.
 * A successful login clears its account's count. A limit of 0 is off.
 *
 * When Redis does not answer within 500 ms the attempt is let through (and
 * logged): login needs only Postgres, and PasswordHasher still bounds the
 * CPU spent.
 */
@Injectable()
export class AuthThrottle {
  private readonly logger = new Logger('AuthThrottle');
  private lastWarning = 0;

  constructor(
    @Inject(RedisService) private readonly redis: RedisService,
    @Inject(AuthConfig) private readonly config: AuthConfig,
    @Inject(RedisConfig) private readonly redisConfig: RedisConfig,
  ) {}

  async login(email: string, ip: string): Promise<void> {
    const c = this.config;
    await this.hit(`login:ip:${ip}`, c.LOGIN_LIMIT_PER_IP, c.AUTH_IP_WINDOW_SECONDS, 'from this address');
    await this.hit(
      this.accountKey(email),
      c.LOGIN_LIMIT_PER_ACCOUNT,
      c.LOGIN_ACCOUNT_WINDOW_SECONDS,
      'for this account',
    );
  }

  async loginSucceeded(email: string): Promise<void> {
    if (this.config.LOGIN_LIMIT_PER_ACCOUNT === 0) return;
    await this.withRedis(() => this.redis.client.del(this.key(this.accountKey(email))));
  }

  async register(ip: string): Promise<void> {
    const c = this.config;
    await this.hit(`register:ip:${ip}`, c.REGISTER_LIMIT_PER_IP, c.AUTH_IP_WINDOW_SECONDS, 'from this address');
  }

  /** The account's key names a digest of the email, not the email. */
  private accountKey(email: string): string {
    return `login:account:${createHash('sha256').update(email).digest('base64url').slice(0, 22)}`;
  }

  private key(name: string): string {
    return `${this.redisConfig.REDIS_KEY_PREFIX}:auth:${name}`;
  }

  private async hit(name: string, limit: number, windowSeconds: number, what: string): Promise<void> {
    if (limit === 0) return;
    const answer = await this.withRedis(
      () => this.redis.client.eval(HIT_LUA, 1, this.key(name), windowSeconds * 1000) as Promise<[number, number]>,
    );
    if (!answer || answer[0] <= limit) return;
    const retryAfter = Math.max(1, Math.ceil(answer[1] / 1000));
    throw new DomainError('RATE_LIMITED', `Too many attempts ${what}; try again later`, undefined, {
      'retry-after': String(retryAfter),
    });
  }

  /** The command's answer, or undefined when Redis failed or was too slow (the attempt goes through). */
  private async withRedis<T>(command: () => Promise<T>): Promise<T | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), REDIS_WAIT_MS)));
    try {
      const answer = await Promise.race([command(), late]);
      if (answer === undefined) this.warn('Redis did not answer in time');
      return answer;
    } catch (err) {
      this.warn(String(err));
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private warn(problem: string): void {
    if (Date.now() - this.lastWarning < 5000) return;
    this.lastWarning = Date.now();
    this.logger.warn(`auth throttles not applied: ${problem}`);
  }
}
