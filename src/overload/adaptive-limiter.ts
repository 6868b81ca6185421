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
/**
 * Share of the purchases' limit that polls taken as purchases (a waiting room's head) may use: the rest stays
 * the purchases'. Under long shedding many tokens read as "at the head", and without it they filled the limit.
 */
const HEAD_SHARE = 0.5;
/** Classes from the highest. */
const RANK: readonly SheddableClass[] = ['buy', 'track', 'browse'];
/**
 * Pressure goes 0 → 2: browse is shed by min(p, 1), track by min(max(p − 1, 0), 1);
 * it rises no further than what sheds every class with demand below the top one.
 */
const PRESSURE_UP = 0.5;
const PRESSURE_DOWN = 0.1;
/**
 * A delay while the loop was busy less than this share of the interval is the
 * machine's (other processes had the CPU), not a queue of this copy's: shedding
 * would not shorten it.
 */
const MIN_BUSY_ELU = 0.5;
/** A class has demand while requests of it arrived this recently (ms). */
const DEMAND_MS = 1000;
/** The best throughput is forgotten after this long calm (ms): a slower dependency later must not pin the limit. */
const FORGET_MS = 2000;
/** An interval serving at least this share of the best throughput counts as serving it (the knee is sought below it). */
const KNEE = 0.9;
/** Gain over the in-flight that served the best throughput when the limit is cut to it (BBR's window gain). */
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
 * `maxElu` of the interval.
 *
 * Each overloaded interval first raises the pressure, which sheds browse,
 * then track — but a class only while a class above it has demand (requests
 * arriving in the last second): the top class present is never shed by the
 * pressure, only by the in-flight limit. Once the pressure sheds everything
 * below the top class and the copy is still overloaded, the limit comes down
 * to 2 × the least in-flight at which the top class served its best
 * throughput (BBR's bandwidth-delay product and window gain; throughput that
 * grows with in-flight, as batching does, keeps its in-flight), never while
 * that throughput is still rising (then, if the limit is what holds the
 * in-flight, it grows by √limit), never above the limit it had. Each calm
 * interval lowers the pressure a little and, when the limit was at least
 * half used, raises it by √limit (a limit pinned at its minimum recovers in
 * seconds). The best throughput is forgotten after 2 calm seconds, so a
 * slower dependency later does not pin the limit at an old figure; a copy
 * whose dependency slows is not overloaded anyway (its loop is idle).
 */
export class AdaptiveLimiter {
  limit: number;
  inFlight = 0;
  /** Of them, the buy class's: the only ones its limit counts (lower classes never take a purchase's place). */
  inFlightBuy = 0;
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
  /** The best throughput remembered (requests of `bestClass` finished in one interval; 0: none). */
  best = 0;
  /** The least in-flight (the interval's peak) at which ≥ 90 % of `best` was served. */
  bestInFlight = 0;
  bestClass?: SheddableClass;

  private peak = 0;
  /** Intervals closed since start (the current one's number). */
  private intervals = 0;
  /** The interval in which a request of each class last arrived. */
  private readonly seen: Record<SheddableClass, number> = { buy: -Infinity, track: -Infinity, browse: -Infinity };
  /** Requests finished in the current interval, by class. */
  private readonly served: Record<SheddableClass, number> = { buy: 0, track: 0, browse: 0 };
  private calm = 0;
  private readonly demandIntervals: number;
  private readonly forgetIntervals: number;
  private readonly credit: Record<SheddableClass, number> = { buy: 0, track: 0, browse: 0 };
  private count = 0;
  private sum = 0;
  private min = Infinity;
  /** Purchase latencies of the interval, and since takeBuyP99() was last called. */
  private readonly intervalBuys = new LatencyRing();
  private readonly publishedBuys = new LatencyRing();

  constructor(private readonly settings: LimiterSettings) {
    this.limit = settings.initialLimit;
    this.demandIntervals = Math.max(1, Math.ceil(DEMAND_MS / settings.intervalMs));
    this.forgetIntervals = Math.max(1, Math.ceil(FORGET_MS / settings.intervalMs));
  }

  /** The share of a class shed by the pressure now (0..1): none unless a class above it has demand. */
  shedFraction(cls: SheddableClass): number {
    if (cls === 'buy' || !this.demandAbove(cls)) return 0;
    if (cls === 'browse') return Math.min(this.pressure, 1);
    return Math.min(Math.max(this.pressure - 1, 0), 1);
  }

  /** The highest class with demand (requests arriving this interval or recently); undefined when none. */
  topClass(): SheddableClass | undefined {
    return RANK.find((cls) => this.hasDemand(cls));
  }

  /**
   * A request of a sheddable class at the door: undefined when admitted, else
   * why it is shed. `counted` requests (all but streams) hold a place in
   * flight until done() is called for them. `head`: a waiting room's poll
   * taken as a purchase, which may use only HEAD_SHARE of the limit.
   */
  admit(cls: SheddableClass, counted: boolean, head = false): ShedReason | undefined {
    this.seen[cls] = this.intervals;
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
      // A purchase meets the limit with the purchases in flight only: however many polls or reads are in
      // flight, they never shed a purchase by the limit (the pressure sheds them first; in front of a waiting
      // room the purchases are few, paced by its admissions, and the crowd's polls many).
      const share = head ? HEAD_SHARE : SHARE[cls];
      if (counted && (cls === 'buy' ? this.inFlightBuy : this.inFlight) >= this.limit * share) {
        this.shed[cls].limit++;
        return 'limit';
      }
    }
    this.admitted[cls]++;
    if (counted && ++this.inFlight > this.peak) this.peak = this.inFlight;
    if (counted && cls === 'buy') this.inFlightBuy++;
    return undefined;
  }

  /**
   * A request that is never shed (a waiting room's join: it takes a place,
   * and the room's own cap bounds it): it counts as demand of its class and
   * as admitted, but neither holds a place in flight nor meets the limit, so
   * a burst of joins cannot shed purchases by the limit.
   */
  pass(cls: SheddableClass): void {
    this.seen[cls] = this.intervals;
    this.admitted[cls]++;
  }

  /**
   * Takes back a shed count: the door takes the request as a higher class
   * instead (a waiting room's poll from the head of the queue, as a purchase).
   */
  retract(cls: SheddableClass, reason: ShedReason): void {
    this.shed[cls][reason]--;
  }

  /** A counted request finished (answered or its connection closed) after `latencyMs`. */
  done(cls: SheddableClass, latencyMs: number): void {
    this.inFlight--;
    if (cls === 'buy') this.inFlightBuy--;
    this.served[cls]++;
    this.count++;
    this.sum += latencyMs;
    if (latencyMs < this.min) this.min = latencyMs;
    if (cls === 'buy') {
      this.intervalBuys.push(latencyMs);
      this.publishedBuys.push(latencyMs);
    }
  }

  /**
   * p99 of the purchases that finished since the last call (0: none): the
   * door's published figure, once a second — over a second's purchases,
   * not the last interval's few (a tenth of them: one slow purchase among
   * 50 was the p99).
   */
  takeBuyP99(): number {
    return this.publishedBuys.takeP99();
  }

  /** End of an interval: the control step. */
  tick(signals: Signals): void {
    const s = this.settings;
    this.latency = this.closeWindow();
    const top = this.topClass();
    const rising = top !== undefined && this.learn(top);
    this.overloaded =
      (signals.loopDelayMs > s.targetMs && signals.elu >= MIN_BUSY_ELU) || (s.maxElu < 1 && signals.elu >= s.maxElu);
    if (this.overloaded) {
      this.overloadedIntervals++;
      this.calm = 0;
      const full = this.fullPressure(top);
      if (this.pressure < full) this.pressure = Math.min(full, this.pressure + PRESSURE_UP);
      else if (rising) {
        // More in flight still serves more (batching): probe on while the limit is what holds it.
        if (this.peak >= this.limit) this.grow();
      } else if (this.bestInFlight > 0) {
        // Everything below the top class is shed and the copy is still overloaded: cut to what served the best.
        this.limit = Math.max(s.minLimit, Math.min(this.limit, Math.ceil(this.bestInFlight * GAIN)));
      }
    } else {
      this.pressure = Math.max(0, this.pressure - PRESSURE_DOWN);
      if (this.peak >= this.limit / 2) this.grow();
      if (++this.calm % this.forgetIntervals === 0) this.forget();
    }
    this.served.buy = this.served.track = this.served.browse = 0;
    this.peak = this.inFlight;
    this.intervals++;
  }

  /**
   * Takes the interval's throughput of the top class into the best one
   * remembered; true when it beat it (throughput still rising).
   */
  private learn(top: SheddableClass): boolean {
    if (top !== this.bestClass) {
      this.forget();
      this.bestClass = top;
    }
    const served = this.served[top];
    if (served === 0 || this.peak === 0) return false;
    if (served > this.best) {
      this.best = served;
      this.bestInFlight = this.peak;
      return true;
    }
    if (served >= this.best * KNEE && this.peak < this.bestInFlight) this.bestInFlight = this.peak;
    return false;
  }

  /** + √limit (at least 1), up to the maximum. */
  private grow(): void {
    this.limit = Math.min(this.settings.maxLimit, Math.floor(this.limit + Math.max(1, Math.sqrt(this.limit))));
  }

  private forget(): void {
    this.best = this.bestInFlight = 0;
  }

  /** The pressure that sheds every class with demand below the top one (0: nothing to shed for it). */
  private fullPressure(top: SheddableClass | undefined): number {
    if (top === 'buy' && this.hasDemand('track')) return 2;
    return (top === 'buy' || top === 'track') && this.hasDemand('browse') ? 1 : 0;
  }

  private hasDemand(cls: SheddableClass): boolean {
    return this.intervals - this.seen[cls] < this.demandIntervals;
  }

  private demandAbove(cls: SheddableClass): boolean {
    return this.hasDemand('buy') || (cls === 'browse' && this.hasDemand('track'));
  }

  private closeWindow(): WindowLatency {
    const buyP99Ms = this.intervalBuys.takeP99();
    const window: WindowLatency = {
      count: this.count,
      minMs: this.count ? this.min : 0,
      meanMs: this.count ? this.sum / this.count : 0,
      buyP99Ms,
    };
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    return window;
  }
}

/** The latest BUY_SAMPLES latencies pushed since the last takeP99(). */
class LatencyRing {
  private readonly samples = new Float64Array(BUY_SAMPLES);
  private count = 0;

  push(ms: number): void {
    this.samples[this.count++ % BUY_SAMPLES] = ms;
  }

  /** Their p99 (0 when none), and the ring emptied. */
  takeP99(): number {
    const n = Math.min(this.count, BUY_SAMPLES);
    this.count = 0;
    if (n === 0) return 0;
    const sorted = this.samples.slice(0, n).sort();
    return sorted[Math.min(n - 1, Math.floor(n * 0.99))]!;
  }
}
