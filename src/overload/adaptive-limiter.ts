import type { SheddableClass } from './route-class.js';

/** Why a request was shed: the class was being shed as a whole (`pressure`) or too many were in flight (`limit`). */
export type ShedReason = 'pressure' | 'limit';

export interface LimiterSettings {
  /** Shed at all (false: measure only). */
  enabled: boolean;
  /** Queueing delay (least event-loop delay over an interval) above which the copy is overloaded. */
  targetMs: number;
  /** Event-loop utilization (0..1) at or above which the copy is overloaded; 1 = not used. */
  maxElu: number;
  initialLimit: number;
  minLimit: number;
  maxLimit: number;
  /** Length of a control interval (ms). */
  intervalMs: number;
}

/** What the copy measured over the last interval. */
export interface Signals {
  /** The least event-loop delay seen in the interval (ms): a standing queue when above the target. */
  loopDelayMs: number;
  /** Event-loop utilization over the interval (0..1). */
  elu: number;
}

/** Latencies (ms) of the requests that finished in the last interval: all counted ones, and purchases alone. */
export interface WindowLatency {
  count: number;
  minMs: number;
  meanMs: number;
  /** p99 of the purchases (`buy`) that finished in the interval; 0 when none did. */
  buyP99Ms: number;
}

/** Share of the limit each class may use (the rest is kept for the classes above it). */
const SHARE: Record<SheddableClass, number> = { buy: 1, track: 0.75, browse: 0.5 };
/** Pressure goes 0 → 2: browse is shed by min(p, 1), track by min(max(p − 1, 0), 1). */
const MAX_PRESSURE = 2;
const PRESSURE_UP = 0.5;
const PRESSURE_DOWN = 0.1;
/**
 * A delay while the loop was busy less than this share of the interval is the
 * machine's (other processes had the CPU), not a queue of this copy's: shedding
 * would not shorten it.
 */
const MIN_BUSY_ELU = 0.5;
/** Intervals whose best throughput and least latency make the capacity estimate (1 s of 100 ms intervals). */
const HISTORY = 10;
/** Gain over the estimated in-flight capacity when the limit is set to it (BBR's own congestion-window gain). */
const GAIN = 2;
/** Purchase latencies kept per interval for the p99 (a ring: the latest ones). */
const BUY_SAMPLES = 4096;

const emptyCounts = (): Record<SheddableClass, Record<ShedReason, number>> => ({
  buy: { pressure: 0, limit: 0 },
  track: { pressure: 0, limit: 0 },
  browse: { pressure: 0, limit: 0 },
});

/**
 * The control law of one API copy (pure: no timers, no I/O; the door feeds it).
 *
 * Overloaded = a standing queue: the least event-loop delay over an interval
 * (CoDel's "minimum sojourn time") above `targetMs` while the loop was busy
 * at least half the interval — in a Node process the time a request waits
 * before its handler runs is the event loop's delay — or the loop busy ≥
 * `maxElu` of the interval. Each overloaded interval first raises the
 * pressure (browse shed, then track), and only once both are shed sets the
 * in-flight limit to the copy's measured capacity (BBR, as Kratos and
 * Sentinel do): the most requests finished in one interval of the last
 * second × the least mean latency of those intervals ÷ the interval (Little's
 * law: what is in flight when the copy serves its best rate without a queue),
 * × 2 (BBR's window gain) — never above the limit it had. Each calm interval lowers the
 * pressure a little and, when the limit was at least half used, raises it by
 * √limit (fast from a low limit: a limit pinned at its minimum recovers in
 * seconds). A copy whose dependency slows (Redis 20 ms slower) is not
 * overloaded: its limit only grows with the in-flight that needs.
 */
export class AdaptiveLimiter {
  limit: number;
  inFlight = 0;
  pressure = 0;
  overloaded = false;
  /** Requests shed since start, by class and reason. */
  readonly shed = emptyCounts();
  /** Requests admitted since start, by class. */
  readonly admitted: Record<SheddableClass, number> = { buy: 0, track: 0, browse: 0 };
  /** The last interval's latencies. */
  latency: WindowLatency = { count: 0, minMs: 0, meanMs: 0, buyP99Ms: 0 };
  /** Intervals seen overloaded since start. */
  overloadedIntervals = 0;

  private peak = 0;
  /** Finished requests and mean latency of the last HISTORY intervals (ring). */
  private readonly passes = new Float64Array(HISTORY);
  private readonly means = new Float64Array(HISTORY).fill(Infinity);
  private intervals = 0;
  private readonly credit: Record<SheddableClass, number> = { buy: 0, track: 0, browse: 0 };
  private count = 0;
  private sum = 0;
  private min = Infinity;
  private readonly buySamples = new Float64Array(BUY_SAMPLES);
  private buyCount = 0;

  constructor(private readonly settings: LimiterSettings) {
    this.limit = settings.initialLimit;
  }

  /** The share of a class shed by the pressure now (0..1). */
  shedFraction(cls: SheddableClass): number {
    if (cls === 'browse') return Math.min(this.pressure, 1);
    if (cls === 'track') return Math.min(Math.max(this.pressure - 1, 0), 1);
    return 0;
  }

  /**
   * A request of a sheddable class at the door: undefined when admitted, else
   * why it is shed. `counted` requests (all but streams) hold a place in
   * flight until done() is called for them.
   */
  admit(cls: SheddableClass, counted: boolean): ShedReason | undefined {
    if (this.settings.enabled) {
      const fraction = this.shedFraction(cls);
      if (fraction > 0) {
        // A deterministic share: every request adds the fraction, a whole one is shed.
        this.credit[cls] += fraction;
        if (this.credit[cls] >= 1) {
          this.credit[cls] -= 1;
          this.shed[cls].pressure++;
          return 'pressure';
        }
      }
      if (counted && this.inFlight >= this.limit * SHARE[cls]) {
        this.shed[cls].limit++;
        return 'limit';
      }
    }
    this.admitted[cls]++;
    if (counted && ++this.inFlight > this.peak) this.peak = this.inFlight;
    return undefined;
  }

  /** A counted request finished (answered or its connection closed) after `latencyMs`. */
  done(cls: SheddableClass, latencyMs: number): void {
    this.inFlight--;
    this.count++;
    this.sum += latencyMs;
    if (latencyMs < this.min) this.min = latencyMs;
    if (cls === 'buy') this.buySamples[this.buyCount++ % BUY_SAMPLES] = latencyMs;
  }

  /** End of an interval: the control step. */
  tick(signals: Signals): void {
    const s = this.settings;
    this.latency = this.closeWindow();
    this.overloaded =
      (signals.loopDelayMs > s.targetMs && signals.elu >= MIN_BUSY_ELU) || (s.maxElu < 1 && signals.elu >= s.maxElu);
    if (this.overloaded) {
      this.overloadedIntervals++;
      if (this.pressure < MAX_PRESSURE) this.pressure = Math.min(MAX_PRESSURE, this.pressure + PRESSURE_UP);
      else if (this.peak > 0) {
        // (Nothing in flight all interval: nothing to limit, and no measure of capacity.)
        this.limit = Math.max(s.minLimit, Math.min(this.limit, Math.ceil(this.capacity() * GAIN)));
      }
    } else {
      this.pressure = Math.max(0, this.pressure - PRESSURE_DOWN);
      if (this.peak >= this.limit / 2) {
        this.limit = Math.min(s.maxLimit, Math.floor(this.limit + Math.max(1, Math.sqrt(this.limit))));
      }
    }
    this.peak = this.inFlight;
  }

  /** Requests in flight when the copy served its best rate of the last second at its least latency. */
  capacity(): number {
    let maxPass = 0;
    let minMean = Infinity;
    for (let i = 0; i < HISTORY; i++) {
      if (this.passes[i]! > maxPass) maxPass = this.passes[i]!;
      if (this.means[i]! < minMean) minMean = this.means[i]!;
    }
    return minMean === Infinity ? 0 : (maxPass * minMean) / this.settings.intervalMs;
  }

  private closeWindow(): WindowLatency {
    const n = Math.min(this.buyCount, BUY_SAMPLES);
    let buyP99Ms = 0;
    if (n > 0) {
      const sorted = this.buySamples.slice(0, n).sort();
      buyP99Ms = sorted[Math.min(n - 1, Math.floor(n * 0.99))]!;
    }
    const slot = this.intervals++ % HISTORY;
    this.passes[slot] = this.count;
    this.means[slot] = this.count ? this.sum / this.count : Infinity;
    const window: WindowLatency = {
      count: this.count,
      minMs: this.count ? this.min : 0,
      meanMs: this.count ? this.sum / this.count : 0,
      buyP99Ms,
    };
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.buyCount = 0;
    return window;
  }
}
