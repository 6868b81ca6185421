import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { RedisConfig } from '../config/app-config.js';
import { repeatedErrors } from '../logging/repeated-errors.js';

/** The app's Redis: one node or a Redis Cluster (REDIS_CLUSTER_NODES). Both take the same commands. */
export type RedisClient = Redis | Cluster;

type ConnectionConfig = Pick<
  RedisConfig,
  'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_USERNAME' | 'REDIS_PASSWORD' | 'REDIS_TLS'
>;

/**
 * Keep retrying to reconnect forever, at most every 2 s (every client: ours,
 * BullMQ's, a cluster's); the first try at once: a connection dropped while
 * Redis is up (a proxy, an idle timeout, CLIENT KILL) is back within a round trip.
 */
const retryStrategy = (times: number): number => (times <= 1 ? 0 : Math.min(times * 100, 2000));

/**
 * Credentials and TLS from REDIS_USERNAME, REDIS_PASSWORD and REDIS_TLS: the
 * same for a single node and for every node of a cluster (unset: left to
 * REDIS_URL on a single node).
 */
function credentials(config: ConnectionConfig): { username?: string; password?: string; tls?: object } {
  return {
    username: config.REDIS_USERNAME || undefined,
    password: config.REDIS_PASSWORD || undefined,
    tls: config.REDIS_TLS ? {} : undefined,
  };
}

/**
 * REDIS_URL with REDIS_USERNAME/REDIS_PASSWORD in it when they are set: they
 * win over the URL's own, and ioredis lets a URL's credentials win over options.
 */
function nodeUrl(config: ConnectionConfig): string {
  if (!config.REDIS_USERNAME && !config.REDIS_PASSWORD) return config.REDIS_URL;
  const url = new URL(config.REDIS_URL);
  if (config.REDIS_USERNAME) url.username = encodeURIComponent(config.REDIS_USERNAME);
  if (config.REDIS_PASSWORD) url.password = encodeURIComponent(config.REDIS_PASSWORD);
  return url.toString();
}

/** What ioredis and BullMQ both take as a single node's connection. */
export interface NodeConnection {
  url: string;
  username?: string;
  password?: string;
  tls?: object;
  retryStrategy: (times: number) => number;
}

/**
 * The connection of a single node, shared by our own clients and BullMQ's:
 * REDIS_URL as ioredis reads it (host, port, db, credentials, `rediss://` for
 * TLS) plus the options every connection has. BullMQ takes it as it is
 * (`connection: { url, ... }`); our clients as `new Redis(url, options)`.
 */
export function nodeConnection(config: ConnectionConfig): NodeConnection {
  return { url: nodeUrl(config), ...credentials(config), retryStrategy };
}

/** The seed nodes of REDIS_CLUSTER_NODES. */
export function clusterNodes(config: Pick<RedisConfig, 'REDIS_CLUSTER_NODES'>): { host: string; port: number }[] {
  return config.REDIS_CLUSTER_NODES.split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((hostPort) => {
      const at = hostPort.lastIndexOf(':');
      return { host: hostPort.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(hostPort.slice(at + 1)) };
    });
}

/**
 * Options of a Cluster client. A call rides through a failover (a replica
 * promoted after cluster-node-timeout) instead of failing after 1.2 s: MOVED,
 * CLUSTERDOWN and closed connections are retried for up to 32 × 500 ms; the
 * slot map is also refreshed every 5 s (ioredis does not by default).
 * See ../shared/notes/redis-cluster.md §1 and §4.
 *
 * No ready check: with it, a connect() made while the cluster is failing
 * (cluster_state:fail, between a master's death and its replica's promotion)
 * fails the check, and ioredis reconnects on its own but never settles that
 * connect()'s promise. BullMQ awaits one whenever it resets a worker's
 * blocking connection (a BZPOPMIN past its watchdog, which a failover
 * causes): the worker's fetch loop stayed parked for good, so the orders
 * queue, and the ticket sweeper scheduled on it, stopped. Without the check
 * the client is ready once it has the slot map, and commands ride out the
 * failing cluster through the CLUSTERDOWN retries above
 * (test/redis-cluster-failover.e2e-spec.ts).
 */
export function clusterOptions(config: ConnectionConfig, node: RedisOptions = {}): ClusterOptions {
  return {
    redisOptions: { ...credentials(config), ...node },
    scaleReads: 'master',
    retryDelayOnFailover: 500,
    retryDelayOnClusterDown: 500,
    retryDelayOnMoved: 200,
    maxRedirections: 32,
    slotsRefreshInterval: 5000,
    clusterRetryStrategy: retryStrategy,
    enableReadyCheck: false,
  };
}

/** A new client of the configured Redis (a single node or a cluster). */
export function createRedisClient(
  config: ConnectionConfig,
  node: RedisOptions = {},
  cluster: Partial<ClusterOptions> = {},
): RedisClient {
  if (config.REDIS_CLUSTER_NODES) {
    return new Cluster(clusterNodes(config), { ...clusterOptions(config, node), ...cluster });
  }
  const { url, ...options } = nodeConnection(config);
  return new Redis(url, { ...options, ...node });
}

/** Another connection like this one (for a subscriber), with extra options for a cluster. */
export function duplicateClient(client: RedisClient, cluster: Partial<ClusterOptions> = {}): RedisClient {
  return client instanceof Cluster ? client.duplicate(undefined, cluster) : client.duplicate();
}

/** The command client for the app's own keys. */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: RedisClient;
  /** True on a Redis Cluster (REDIS_CLUSTER_NODES). */
  readonly isCluster: boolean;
  private masters = '';
  private readonly failoverListeners = new Set<() => void>();
  /** Requests waiting for the connection to be re-made (whenReady): one 'ready' listener for all. */
  private readonly readyWaiters = new Set<(ready: boolean) => void>();

  constructor(@Inject(RedisConfig) config: RedisConfig) {
    this.isCluster = config.REDIS_CLUSTER_NODES !== '';
    // A command without an answer after this long fails (the purchase answers 503 at once
    // instead of a crowd of requests waiting on a Redis that hangs).
    const node: RedisOptions = { commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS };
    // Commands issued in the same turn of the event loop (the admissions of many
    // requests at once) go out in one write per node and come back in one read: one
    // system call each way instead of one per purchase (measured: the EVALSHA's socket
    // write alone was 15 % of the API's CPU). Order per connection is unchanged.
    this.client = this.isCluster
      ? createRedisClient(config, node, { enableAutoPipelining: true })
      : createRedisClient(config, { ...node, lazyConnect: false, maxRetriesPerRequest: 2, enableAutoPipelining: true });
    // Errors surface through commands and /health; the connection's own go to the log, collapsed.
    this.client.on('error', (err: Error) => repeatedErrors.report('redis', err));
    this.client.on('ready', () => {
      for (const waiter of [...this.readyWaiters]) waiter(true);
    });
    if (this.client instanceof Cluster) {
      const cluster = this.client;
      cluster.on('refresh', () => {
        const masters = cluster
          .nodes('master')
          .map((n) => `${n.options.host}:${n.options.port}`)
          .sort()
          .join(',');
        const changed = this.masters !== '' && masters !== this.masters;
        this.masters = masters;
        if (changed) for (const listener of this.failoverListeners) listener();
      });
    }
  }

  /**
   * True at once when the connection is up; else whether it comes up within
   * `timeoutMs` (a dropped connection being re-made). Lets a request ride
   * through a blip instead of failing, without queueing behind an outage.
   */
  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.client.status === 'ready') return Promise.resolve(true);
    if (timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = (ready: boolean): void => {
        clearTimeout(timer);
        this.readyWaiters.delete(waiter);
        resolve(ready);
      };
      const timer = setTimeout(() => waiter(false), timeoutMs);
      this.readyWaiters.add(waiter);
    });
  }

  /**
   * Calls `listener` whenever the cluster's set of masters changes (a replica
   * promoted after its master failed, a master added or removed), as seen by
   * the slot map refreshes (every 5 s, and on MOVED). Never on a single node.
   */
  onMastersChanged(listener: () => void): () => void {
    this.failoverListeners.add(listener);
    return () => this.failoverListeners.delete(listener);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

@Global()
@Module({ providers: [RedisService], exports: [RedisService] })
export class RedisModule {}
