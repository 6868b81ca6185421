import { Inject, Injectable } from '@nestjs/common';
import { GateConfig } from '../infra/config/app-config.js';

/**
 * The backlog level at which one purchase is refused BUSY, drawn uniformly
 * between the pace's start (`fromPercent` of the cap) and the hard cap: a
 * purchase meeting a backlog b is refused with probability
 * (b − from + 1) / (cap − from + 1) — none below the start, all at the cap.
 * Admission so slows in proportion as the backlog grows, and settles where
 * what is still admitted matches the drain, before the cap is reached.
 * `random` is in [0, 1).
 */
export function pacedCap(cap: number, fromPercent: number, random: number): number {
  // Never below 1: an empty backlog is never refused.
  const from = Math.max(1, Math.floor((cap * fromPercent) / 100));
  if (from >= cap) return cap;
  return from + Math.floor(random * (cap - from + 1));
}

/** The cap each admission passes to the gate (BACKLOG_PACE_FROM_PERCENT, BACKLOG_CAP). */
@Injectable()
export class BacklogPace {
  constructor(@Inject(GateConfig) private readonly config: GateConfig) {}

  capFor(): number {
    return pacedCap(this.config.BACKLOG_CAP, this.config.BACKLOG_PACE_FROM_PERCENT, Math.random());
  }
}
