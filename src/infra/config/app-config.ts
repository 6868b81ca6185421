import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { parseTrustProxy } from '../http/trust-proxy.js';
import { Bool, Email, Format, given, HttpUrl, Int, OneOf, Parsed, Text } from './settings.js';

const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const SMS_PROVIDERS = ['log', 'http'] as const;
export type SmsProviderName = (typeof SMS_PROVIDERS)[number];

const PAYMENT_PROVIDERS = ['approve', 'http'] as const;
export type PaymentProviderName = (typeof PAYMENT_PROVIDERS)[number];

/*
 * Every setting of the system, read once from environment variables at boot,
 * in typed slices: a class injects only the slice(s) it needs (e.g.
 * `@Inject(RedisConfig) redis: RedisConfig`), so secrets reach only their
 * users. Property = env variable, initializer = default (the one
 * `.env.example` documents; keep the two in step).
 */

/** The HTTP API: listener, limits, proxies and browsers, answers to retry. */
export class HttpConfig {
  /** HTTP port of the API. */
  @Int({ min: 0, max: 65535 }) PORT = 3000;
  /** Bind address of the API (and of a worker's ops listener). */
  @Text() HOST = '0.0.0.0';
  /** Largest accepted request body in bytes. */
  @Int({ min: 1024 }) BODY_LIMIT_BYTES = 16_384;
  /** Retry-After (seconds) sent with BUSY and GATE_NOT_READY. */
  @Int({ min: 1 }) RETRY_AFTER_SECONDS = 2;
  /** Proxies whose X-Forwarded-* is believed: `false`, a hop count, or addresses/CIDRs (see parseTrustProxy). */
  @Parsed(
    parseTrustProxy,
    'must be false, a hop count 1-10, or a comma list of proxy addresses/CIDRs (true is not accepted)',
  )
  TRUST_PROXY = 'false';
  /** Browser origins allowed to call the API (CORS), comma-separated, e.g. https://shop.example.com; empty = none. */
  @Format(
    /^$|^https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\s*,\s*https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?)*$/,
    'must be a comma list of origins such as https://shop.example.com (scheme, host, optional port)',
  )
  CORS_ORIGINS = '';
  /** Order status streams (SSE) one user may hold open at once on one API process (429 TOO_MANY_STREAMS beyond). */
  @Int({ min: 1 }) SSE_MAX_STREAMS_PER_USER = 5;
  /** Order status streams one API process holds open at once (503 STREAMS_BUSY beyond). */
  @Int({ min: 1 }) SSE_MAX_STREAMS = 5000;
  /** A request (headers and body) must arrive within this many seconds, else 408 REQUEST_TIMEOUT and the connection closed. */
  @Int({ min: 1, max: 600 }) REQUEST_TIMEOUT_SECONDS = 30;
  /** A request's headers must arrive within this many seconds (at most REQUEST_TIMEOUT_SECONDS), else 408. */
  @Int({ min: 1, max: 600 }) HEADERS_TIMEOUT_SECONDS = 15;
  /**
   * An idle keep-alive connection is closed after this many seconds: above the idle timeout of a load
   * balancer or client pool that reuses connections (a POST sent as the server closes fails with a reset).
   */
  @Int({ min: 1, max: 600 }) KEEP_ALIVE_TIMEOUT_SECONDS = 72;
  /** Open connections one API copy serves; a request on a connection beyond it gets 503 TOO_MANY_CONNECTIONS and a close. */
  @Int({ min: 1 }) MAX_CONNECTIONS = 10_000;
  /**
   * New connections the API may accept per turn of its event loop (Node accepts one per listening
   * descriptor and turn; the socket gets this many descriptors: src/infra/http/accept-more.ts). 1 = Node's own.
   */
  @Int({ min: 1, max: 256 }) ACCEPT_PER_TURN = 128;
  /** After an early answer (413), the rest of the body is read and dropped up to this many bytes, so the client can read the answer. */
  @Int({ min: 0 }) LINGER_BYTES = 1_048_576;
}

/** PostgreSQL, the store of record (a secret: the URL carries the password). */
export class DatabaseConfig {
  @Format(/^postgres(ql)?:\/\/\S+$/, 'must be a postgresql:// URL') DATABASE_URL = '';
  /**
   * A query waiting longer than this for a connection of the pool (all busy, or the server slow to
   * accept one) fails instead of waiting on: a pool exhausted by a bug shows as errors, not a hang.
   */
  @Int({ min: 100, max: 600_000 }) DATABASE_CONNECTION_TIMEOUT_MS = 10_000;
}

/** Redis: the connection (a single node or a cluster) and the app's own keys. */
export class RedisConfig {
  /** A single Redis node (`redis://` or `rediss://`); required unless REDIS_CLUSTER_NODES is set. */
  @Format(
    /^rediss?:\/\/\S*$/,
    'must be a redis:// or rediss:// URL',
    (c) => !c.REDIS_CLUSTER_NODES || c.REDIS_URL !== '',
  )
  REDIS_URL = '';
  /**
   * Seed nodes of a Redis Cluster (`host:port,host:port,…`). When set, every
   * Redis use (gate, queues, pub/sub) goes to the cluster and REDIS_URL is not used.
   */
  @Format(
    /^$|^[A-Za-z0-9._\-[\]:]+:\d{1,5}(\s*,\s*[A-Za-z0-9._\-[\]:]+:\d{1,5})*$/,
    'must be a comma list of host:port seed nodes',
  )
  REDIS_CLUSTER_NODES = '';
  /** Redis ACL user and password, for a single node and for every cluster node (win over REDIS_URL's). */
  @Text() REDIS_USERNAME = '';
  @Text() REDIS_PASSWORD = '';
  /** TLS to Redis (a single node and every cluster node); `rediss://` in REDIS_URL turns it on too. */
  @Bool() REDIS_TLS = false;
  /**
   * Replicas that must hold an admission before its 202 is sent (Redis WAIT,
   * one per Redis node and turn of the event loop for all admissions answered
   * in it); 0 = off. With 1 and a replica per master, an admission survives
   * the failover of its master (see docs/scaling.md, "Failover and
   * asynchronous replication").
   */
  @Int({ min: 0, max: 5 }) REDIS_WAIT_REPLICAS = 0;
  /** Longest WAIT for the replicas (ms); an admission not acknowledged in time is still answered 202 (and counted). */
  @Int({ min: 1, max: 5000 }) REDIS_WAIT_TIMEOUT_MS = 100;
  /**
   * A purchase that finds the Redis connection down (a dropped connection being
   * re-made) waits this long (ms) for it before answering 503 UNAVAILABLE; 0 = refuse at once.
   */
  @Int({ min: 0, max: 5000 }) REDIS_RECONNECT_WAIT_MS = 250;
  /**
   * Longest wait for Redis to answer one of the app's own commands (ms); the
   * purchase then answers 503 OUTCOME_UNKNOWN (BullMQ's connections wait as they must).
   */
  @Int({ min: 100 }) REDIS_COMMAND_TIMEOUT_MS = 2000;
  /** Namespace of this deployment's own Redis keys (`<prefix>:{<saleId>}:…`). */
  @Format(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ or -') REDIS_KEY_PREFIX = 'fs';
}

/** BullMQ queues, the workers that consume them and the outbox relay. */
export class QueueConfig {
  /** BullMQ key prefix; the braces are a Redis Cluster hash tag. */
  @Format(/^\{[A-Za-z0-9_-]+\}$/, 'must be a hash tag such as {fsq}') QUEUE_PREFIX = '{fsq}';
  /**
   * Where BullMQ's queues keep their keys: `shared` puts every queue under the
   * one hash tag QUEUE_PREFIX (one slot: today's layout), `per-queue` gives
   * each queue a tag of its own so queues spread over a cluster's masters;
   * `auto` = per-queue on a cluster, shared on a single node. Changing it
   * renames every queue's keys: drain first (docs/scaling.md, "Moving queues").
   */
  @OneOf(['auto', 'shared', 'per-queue']) QUEUE_LAYOUT: 'auto' | 'shared' | 'per-queue' = 'auto';
  /** Queues a worker process consumes: `all` or a comma-separated list. */
  @Format(/^[a-z-]+(,[a-z-]+)*$/, 'must be "all" or a comma-separated list of queue names') WORKER_QUEUES = 'all';
  /** Jobs one worker process runs at once per queue (they are batched into transactions). */
  @Int({ min: 1, max: 5000 }) WORKER_CONCURRENCY = 500;
  /**
   * Items (tickets, events) one worker process holds per queue: at this many,
   * it takes no new job until some of its jobs end, so a backlog waits in
   * Redis, not in the worker's heap (about 0.4 KB of heap per item).
   */
  @Int({ min: 1 }) WORKER_MAX_ITEMS = 20_000;
  /** Most jobs written in one Postgres transaction. */
  @Int({ min: 1, max: 5000 }) BATCH_SIZE = 500;
  /**
   * BullMQ job lock, renewed every half of it while the job runs. A job of a
   * dead worker is taken over at most JOB_LOCK_MS + JOB_STALLED_INTERVAL_MS
   * after the worker died (8 s with the defaults).
   */
  @Int({ min: 1000 }) JOB_LOCK_MS = 5000;
  /** How often workers look for jobs whose lock ran out (a dead worker's) and put them back. */
  @Int({ min: 500 }) JOB_STALLED_INTERVAL_MS = 3000;
  /** Attempts of a job before it stays in the failed set (the dead letters). */
  @Int({ min: 1 }) JOB_ATTEMPTS = 12;
  /** First retry delay (ms); doubles each attempt up to JOB_BACKOFF_MAX_MS. */
  @Int({ min: 1 }) JOB_BACKOFF_MS = 500;
  /** Longest wait between two attempts of a job (ms). */
  @Int({ min: 1 }) JOB_BACKOFF_MAX_MS = 30_000;
  /** Run the outbox relay in this worker process. */
  @Bool() OUTBOX_RELAY = true;
  /**
   * When a consumer queue turns out to have lost its data (Redis restarted
   * empty), the outbox rows relayed to it in this many seconds before are
   * relayed again (consumers deduplicate them).
   */
  @Int({ min: 0 }) OUTBOX_REPLAY_SECONDS = 86_400;
}

/** Admission: the gate's limits and the hand-off of admitted tickets to the workers. */
export class GateConfig {
  /** Admitted tickets not yet persisted, per sale, above which buyers get 503 BUSY. */
  @Int({ min: 1 }) BACKLOG_CAP = 20_000;
  /** The API hands admitted tickets to the workers in batches: the longest a batch collects (ms). */
  @Int({ min: 0, max: 60_000 }) HANDOFF_LINGER_MS = 5;
  /** The most admissions one hand-off batch (one BullMQ job) collects. */
  @Int({ min: 1, max: 5000 }) HANDOFF_MAX_TICKETS = 500;
  /** Purchase attempts per user per sale per second before 429 (no human reaches 20). */
  @Int({ min: 1 }) RATE_LIMIT_USER_PER_SECOND = 20;
  /** Purchase attempts per IP per sale per second; 0 = off (carriers put thousands behind one IP). */
  @Int({ min: 0 }) RATE_LIMIT_IP_PER_SECOND = 0;
  /**
   * Backlog pacing: above this share (percent) of BACKLOG_CAP, a growing share
   * of purchases is refused BUSY (none at this level, all at the cap), so
   * admission slows to the drain rate before the hard cap; 100 = off.
   */
  @Int({ min: 1, max: 100 }) BACKLOG_PACE_FROM_PERCENT = 50;
  /** How long an Idempotency-Key keeps its first admission. */
  @Int({ min: 60 }) IDEMPOTENCY_TTL_SECONDS = 86_400;
}

/** Overload control at the door of each API copy (docs/overload.md). */
export class OverloadConfig {
  /**
   * Shed requests when this API copy is overloaded (false: measure only, shed nothing). Off by
   * default: measured on one box, shedding a closed-loop crowd that retries at once costs more
   * goodput than it saves (docs/overload.md); the waiting room is what holds the crowd.
   */
  @Bool() OVERLOAD_CONTROL = false;
  /** Queueing-delay target (ms): overloaded when the least event-loop delay over an interval is above it. */
  @Int({ min: 1, max: 1000 }) OVERLOAD_TARGET_MS = 5;
  /** Length of a control interval (ms). */
  @Int({ min: 20, max: 5000 }) OVERLOAD_INTERVAL_MS = 100;
  /** Event-loop utilization (percent of an interval) at or above which the copy is overloaded; 100 = not used. */
  @Int({ min: 50, max: 100 }) OVERLOAD_MAX_ELU_PERCENT = 99;
  /** Requests in flight allowed at start (then adapted between the minimum and the maximum). */
  @Int({ min: 1, max: 100_000 }) OVERLOAD_INITIAL_LIMIT = 100;
  /** The least the in-flight limit goes down to. */
  @Int({ min: 1, max: 100_000 }) OVERLOAD_MIN_LIMIT = 10;
  /** The most the in-flight limit goes up to. */
  @Int({ min: 1, max: 100_000 }) OVERLOAD_MAX_LIMIT = 5000;
  /** Retry-After of a shed request: this many seconds plus a random 0 to this many (jitter). */
  @Int({ min: 1, max: 60 }) OVERLOAD_RETRY_AFTER_SECONDS = 1;
  /**
   * Purchases first (whether or not anything is shed): requests below the buy class wait for the
   * event loop's I/O and start in turns of at most this many ms (docs/overload.md); 0 = each at once.
   */
  @Int({ min: 0, max: 1000 }) OVERLOAD_TURN_MS = 2;
  /**
   * A shed request's answer is held this long (ms; each a random half to all of it) before it is sent:
   * the connection carries nothing else meanwhile, so a crowd that ignores Retry-After cannot turn
   * refusals into a flood the process spends itself answering (docs/overload.md); 0 = answer at once.
   * Below a second, so that a connection's first answer is never that late.
   */
  @Int({ min: 0, max: 900 }) OVERLOAD_SHED_HOLD_MS = 500;
}

/** Waiting rooms: the admitter, admissions, defaults of a sale's room (src/room). */
export class RoomConfig {
  /** How often the admitter of each room lets the next shoppers in (ms). */
  @Int({ min: 20, max: 5000 }) ROOM_TICK_MS = 200;
  /** A room's admitter lease: another worker takes over this long after its holder died (ms). */
  @Int({ min: 500, max: 60_000 }) ROOM_LEASE_MS = 3000;
  /**
   * Key of the room's signatures (admissions, queue tokens), shared by every API copy; empty: derived from
   * JWT_SECRET. Changing it voids admissions and queue tokens in flight (shoppers poll again).
   */
  @Text({ minLength: 32, message: 'must be at least 32 characters (or empty)', when: given('ROOM_TOKEN_SECRET') })
  ROOM_TOKEN_SECRET = '';
  /** Admission rate of a room created without one, and of an `auto` room before it has measured anything. */
  @Int({ min: 1, max: 100_000 }) ROOM_DEFAULT_ADMIT_PER_SECOND = 500;
  /** Bounds of an `auto` room's rate (shoppers per second). */
  @Int({ min: 1, max: 100_000 }) ROOM_AUTO_MIN_PER_SECOND = 20;
  @Int({ min: 1, max: 100_000 }) ROOM_AUTO_MAX_PER_SECOND = 5000;
  /** How long before the start joining opens, when the room names no prequeueOpensAt. */
  @Int({ min: 0 }) ROOM_PREQUEUE_LEAD_SECONDS = 900;
  /** Longest a queue may grow when the room names no maxQueue (joins beyond: 503 QUEUE_FULL). */
  @Int({ min: 1 }) ROOM_MAX_QUEUE = 2_000_000;
  /**
   * Answer a plain queue poll (GET /sales/:id/queue by a signed-in shopper) on Node's server, before Fastify
   * and Nest (room/poll-at-door.ts): the same answer at a fraction of the CPU. Off: every poll takes the full route.
   */
  @Bool() ROOM_POLL_AT_DOOR = true;
  /**
   * The same for a plain join (POST /sales/:id/queue with no body) on a room without anti-bot rules: the
   * join at the door. Off: every join takes the full route.
   */
  @Bool() ROOM_JOIN_AT_DOOR = true;
}

/** Sales: preheat, the storefront's cache, the periodic reconcile. */
export class SalesConfig {
  /** How long before startsAt a sale's gate state is loaded into Redis. */
  @Int({ min: 0 }) PREHEAT_LEAD_SECONDS = 60;
  /** Max age of the storefront's in-process sale cache (ms); also its Cache-Control max-age. */
  @Int({ min: 0, max: 60_000 }) STOREFRONT_CACHE_MS = 1000;
  /** How often workers compare every open sale's gate with the orders of record (ms). */
  @Int({ min: 1000 }) RECONCILE_INTERVAL_MS = 60_000;
  /** Let the periodic reconcile rewrite a drifted gate from Postgres (a missing gate is always rebuilt). */
  @Bool() RECONCILE_REPAIR = false;
}

/** The order pipeline's safety nets. */
export class OrdersConfig {
  /** Tickets older than this with no persisted order are re-enqueued by the sweeper. */
  @Int({ min: 100 }) SWEEP_AFTER_MS = 30_000;
  /** How often the sweeper runs. */
  @Int({ min: 100 }) SWEEP_INTERVAL_MS = 10_000;
  /**
   * An order PENDING or past its payment deadline for this long (ms) is taken
   * for stuck (an event lost with Redis): the reconcile pass asks inventory
   * again, or expires it.
   */
  @Int({ min: 1000 }) ORDER_STUCK_AFTER_MS = 120_000;
}

/** Payment: the window to pay and the provider (its token is a secret). */
export class PaymentConfig {
  /** Seconds a shopper has to pay once the stock is reserved (a sale's paymentWindowSeconds overrides it). */
  @Int({ min: 1 }) PAYMENT_WINDOW_SECONDS = 900;
  /** Payment provider: `approve` approves every charge (development, tests), `http` POSTs to PAYMENT_PROVIDER_URL. */
  @OneOf(PAYMENT_PROVIDERS) PAYMENT_PROVIDER: PaymentProviderName = 'approve';
  /** Where the `http` payment provider POSTs each charge; required with PAYMENT_PROVIDER=http. */
  @HttpUrl(
    'must be an http(s):// URL (required when PAYMENT_PROVIDER=http)',
    (c) => c.PAYMENT_PROVIDER === 'http' || c.PAYMENT_PROVIDER_URL !== '',
  )
  PAYMENT_PROVIDER_URL = '';
  /** Where the `http` provider POSTs refunds of charges whose order was cancelled meanwhile; empty: refunds are left for a person. */
  @HttpUrl(undefined, given('PAYMENT_REFUND_URL')) PAYMENT_REFUND_URL = '';
  /** Bearer token sent to the payment provider; empty sends none. */
  @Text() PAYMENT_PROVIDER_TOKEN = '';
  /** Longest wait on the payment provider's answer (ms). */
  @Int({ min: 100, max: 25_000 }) PAYMENT_TIMEOUT_MS = 10_000;
}

/** Email and SMS (the gateway token is a secret). */
export class NotifyConfig {
  /** SMTP server of the email channel: smtp://[user:pass@]host:port or smtps:// (TLS from the start). */
  @Format(/^smtps?:\/\/\S+$/, 'must be an smtp:// or smtps:// URL') SMTP_URL = 'smtp://127.0.0.1:1025';
  /** Sender of every email: an address or `Name <address>`. */
  @Text({ minLength: 3 }) MAIL_FROM = 'Flash Sale <no-reply@flash-sale.local>';
  /** SMS provider: `log` writes the message to the worker's log (development), `http` POSTs to a gateway. */
  @OneOf(SMS_PROVIDERS) SMS_PROVIDER: SmsProviderName = 'log';
  /** The gateway the `http` SMS provider POSTs JSON to; required with SMS_PROVIDER=http. */
  @HttpUrl(
    'must be an http(s):// URL (required when SMS_PROVIDER=http)',
    (c) => c.SMS_PROVIDER === 'http' || c.SMS_GATEWAY_URL !== '',
  )
  SMS_GATEWAY_URL = '';
  /** Credential sent to the SMS gateway (see SMS_GATEWAY_AUTH_HEADER); empty sends none. */
  @Text() SMS_GATEWAY_TOKEN = '';
  /** Header carrying SMS_GATEWAY_TOKEN: `Authorization` sends `Bearer <token>`, any other header the token as is. */
  @Format(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name') SMS_GATEWAY_AUTH_HEADER = 'Authorization';
  /** Sender name or number the gateway shows on the SMS. */
  @Text() SMS_SENDER = 'FlashSale';
  /** Attempts of one email or SMS before it stays FAILED (transient failures only; permanent ones fail at once). */
  @Int({ min: 1, max: 50 }) NOTIFY_ATTEMPTS = 5;
  /** First retry delay of a notification (ms); doubles each attempt. */
  @Int({ min: 1 }) NOTIFY_BACKOFF_MS = 2000;
  /**
   * Emails (and, separately, SMS) one worker process sends at once; also the SMTP connection pool size.
   * 30, not 10: a message's lane waits on its claim and its send more than on CPU; 100,000 messages
   * of `npm run bench -- --notifications` were out 61.0 s after the drain instead of 133.2 s (docs/benchmarks.md).
   */
  @Int({ min: 1, max: 500 }) NOTIFY_CONCURRENCY = 30;
  /** Longest wait on the SMTP server or SMS gateway (connect, greeting, each reply, the HTTP answer). */
  @Int({ min: 100 }) NOTIFY_TIMEOUT_MS = 10_000;
}

/** Accounts: tokens (the secret), login and registration throttles, password hashing, the first admin. */
export class AuthConfig {
  @Text({ minLength: 32, message: 'must be at least 32 characters' }) JWT_SECRET = '';
  @Format(/^\d+[smhd]?$/, 'must be seconds or a duration such as 15m, 12h, 7d') JWT_EXPIRES_IN = '12h';
  /** Verified tokens each API process remembers (their caller, until the token's own expiry); 0 = verify every time. */
  @Int({ min: 0, max: 1_000_000 }) TOKEN_CACHE_SIZE = 50_000;
  /** Login attempts per account (email) per LOGIN_ACCOUNT_WINDOW_SECONDS, shared by all API copies; 0 = off. */
  @Int({ min: 0 }) LOGIN_LIMIT_PER_ACCOUNT = 10;
  /** Window of LOGIN_LIMIT_PER_ACCOUNT (a successful login clears the account's count). */
  @Int({ min: 1 }) LOGIN_ACCOUNT_WINDOW_SECONDS = 900;
  /** Login attempts per client address per AUTH_IP_WINDOW_SECONDS; 0 = off. */
  @Int({ min: 0 }) LOGIN_LIMIT_PER_IP = 60;
  /** Registrations per client address per AUTH_IP_WINDOW_SECONDS; 0 = off. */
  @Int({ min: 0 }) REGISTER_LIMIT_PER_IP = 10;
  /** Window of the per-address login and registration limits. */
  @Int({ min: 1 }) AUTH_IP_WINDOW_SECONDS = 60;
  /** Password hashes (scrypt, ~40 ms of a core each) one API process runs at once. */
  @Int({ min: 1, max: 64 }) PASSWORD_HASH_CONCURRENCY = 1;
  /** Logins/registrations waiting for a hash slot beyond which they get 503 BUSY at once. */
  @Int({ min: 0 }) PASSWORD_HASH_QUEUE = 32;
  /** An admin account created at start when both are set (empty: none). */
  @Email(given('ADMIN_EMAIL')) ADMIN_EMAIL = '';
  @Text({ minLength: 8, message: 'must be at least 8 characters', when: given('ADMIN_PASSWORD') }) ADMIN_PASSWORD = '';
}

/** The process: environment, logs, metrics, priority and shutdown. */
export class OpsConfig {
  @OneOf(['development', 'production', 'test']) NODE_ENV: 'development' | 'production' | 'test' = 'development';
  @OneOf(LOG_LEVELS) LOG_LEVEL: LogLevel = 'log';
  /** Log one line per HTTP request (Fastify's logger). */
  @Bool() LOG_REQUESTS = true;
  /**
   * The purchase route's routine answers (202, 409, 429, 503) are counted, with
   * a summary line per second, and only one in LOG_PURCHASE_SAMPLE is logged in
   * full (1 = every one). Other routes and other answers are always logged.
   */
  @Int({ min: 1 }) LOG_PURCHASE_SAMPLE = 100;
  /**
   * Carry the request id on the application's own log lines inside a request
   * (nestjs-pino's request context). Off by default: it needs
   * AsyncLocalStorage, which on Node 20 taxes every promise of the process,
   * measured at about 15-40 µs of CPU per sold-out refusal and 100 µs per full
   * purchase (docs/operating.md, Logs). Request lines, and the error line of a
   * 500, carry the id either way.
   */
  @Bool() LOG_REQUEST_CONTEXT = false;
  /** Bearer token /metrics requires (API and worker); empty: /metrics is open. */
  @Text({
    minLength: 16,
    message: 'must be at least 16 characters (or empty for no token)',
    when: given('METRICS_TOKEN'),
  })
  METRICS_TOKEN = '';
  /** Port of a worker's own HTTP listener (/metrics, /health/live, /health/ready); 0 = none. */
  @Int({ min: 0, max: 65535 }) WORKER_OPS_PORT = 9464;
  /**
   * Scheduling priority of the process (nice, -20..19; higher yields the CPU).
   * Where workers share a machine with the API, a positive value for workers
   * lets shoppers' requests go first during a spike; the drain catches up after.
   */
  @Int({ min: -20, max: 19 }) PROCESS_PRIORITY = 0;
  /** Longest a SIGTERM shutdown may take before the process gives up and exits. */
  @Int({ min: 100 }) SHUTDOWN_TIMEOUT_MS = 10_000;
  /** On SIGTERM the API answers not-ready for this long (load balancers stop sending) before it stops accepting. */
  @Int({ min: 0 }) SHUTDOWN_DRAIN_MS = 2000;
}

/** The anti-bot screen at a waiting room's door: challenges (src/bots); the rules are each sale's (waitingRoom.antiBot). */
export class BotsConfig {
  /**
   * Key that signs the proof-of-work challenges, shared by every API copy; empty: derived from JWT_SECRET.
   * Changing it voids the challenges in flight (shoppers get a new one).
   */
  @Text({ minLength: 32, message: 'must be at least 32 characters (or empty)', when: given('BOTS_SECRET') })
  BOTS_SECRET = '';
  /**
   * Work of a base-tier challenge: the largest number it may hide (a solver tries half of them on average, one
   * SHA-256 each); risk tiers multiply it by 10 and 100. A sale's antiBot.difficulty overrides it.
   */
  @Int({ min: 1000, max: 10_000_000 }) BOTS_BASE_DIFFICULTY = 2_000_000;
  /** How long a challenge may be solved and used to join (seconds). */
  @Int({ min: 10, max: 86_400 }) BOTS_CHALLENGE_TTL_SECONDS = 900;
  /** Challenges one client address may ask for per BOTS_CHALLENGE_WINDOW_SECONDS (429 beyond); 0 = off. */
  @Int({ min: 0 }) BOTS_CHALLENGE_LIMIT_PER_IP = 60;
  /** Window of BOTS_CHALLENGE_LIMIT_PER_IP. */
  @Int({ min: 1 }) BOTS_CHALLENGE_WINDOW_SECONDS = 60;
}

/** Every slice; each setting belongs to exactly one. */
export const CONFIG_SLICES = [
  HttpConfig,
  DatabaseConfig,
  RedisConfig,
  QueueConfig,
  GateConfig,
  OverloadConfig,
  RoomConfig,
  SalesConfig,
  OrdersConfig,
  PaymentConfig,
  NotifyConfig,
  AuthConfig,
  OpsConfig,
  BotsConfig,
] as const;

export type ConfigSlice = (typeof CONFIG_SLICES)[number];

/**
 * All settings in one flat object, as `loadConfig` returns them: what the
 * entry points, tests and benches pass around. Classes inject slices instead.
 */
export type AppConfig = HttpConfig &
  DatabaseConfig &
  RedisConfig &
  QueueConfig &
  GateConfig &
  OverloadConfig &
  RoomConfig &
  SalesConfig &
  OrdersConfig &
  PaymentConfig &
  NotifyConfig &
  AuthConfig &
  OpsConfig &
  BotsConfig;

/** The settings of one slice, taken from the flat config (a new instance of the slice's class). */
export function sliceOf<S extends ConfigSlice>(slice: S, config: AppConfig): InstanceType<S> {
  const instance = new slice() as object as Record<string, unknown>;
  const values = config as unknown as Record<string, unknown>;
  for (const key of Object.keys(instance)) instance[key] = values[key];
  return instance as InstanceType<S>;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

function describe(errors: ValidationError[]): string[] {
  return errors.map((e) => {
    const value = e.value as unknown;
    const reason = Object.values(e.constraints ?? {})[0] ?? 'is invalid';
    return value === undefined || value === ''
      ? `${e.property} is missing (${reason})`
      : `${e.property} ${reason.replace(new RegExp(`^${e.property} `), '')}`;
  });
}

/** Reads and validates the configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const problems: string[] = [];
  const config = {} as AppConfig;
  for (const slice of CONFIG_SLICES) {
    const raw: Record<string, string> = {};
    for (const key of Object.keys(new slice())) {
      const value = env[key];
      if (value !== undefined && value !== '') raw[key] = value;
    }
    const instance: object = plainToInstance(slice as new () => object, raw);
    problems.push(...describe(validateSync(instance, { forbidUnknownValues: true })));
    Object.assign(config, instance);
  }
  if (problems.length) throw new ConfigError(problems);
  if (config.ADMIN_EMAIL && !config.ADMIN_PASSWORD)
    throw new ConfigError(['ADMIN_PASSWORD is missing (needed with ADMIN_EMAIL)']);
  if (config.HEADERS_TIMEOUT_SECONDS > config.REQUEST_TIMEOUT_SECONDS)
    throw new ConfigError([
      'HEADERS_TIMEOUT_SECONDS must not exceed REQUEST_TIMEOUT_SECONDS (headers are part of the request)',
    ]);
  if (config.ROOM_AUTO_MIN_PER_SECOND > config.ROOM_AUTO_MAX_PER_SECOND)
    throw new ConfigError(['ROOM_AUTO_MIN_PER_SECOND must not be above ROOM_AUTO_MAX_PER_SECOND']);
  if (config.SHUTDOWN_DRAIN_MS >= config.SHUTDOWN_TIMEOUT_MS)
    throw new ConfigError(['SHUTDOWN_DRAIN_MS must be below SHUTDOWN_TIMEOUT_MS (the drain is part of the shutdown)']);
  if (!(
    config.OVERLOAD_MIN_LIMIT <= config.OVERLOAD_INITIAL_LIMIT &&
    config.OVERLOAD_INITIAL_LIMIT <= config.OVERLOAD_MAX_LIMIT
  ))
    throw new ConfigError([
      'OVERLOAD_INITIAL_LIMIT must be between OVERLOAD_MIN_LIMIT and OVERLOAD_MAX_LIMIT (and the minimum at most the maximum)',
    ]);
  return config;
}
