import { Inject, Injectable } from '@nestjs/common';
import { GateLayout } from '../gate/gate-layout.js';
import { GateReadModel } from '../gate/gate-read-model.js';
import { GateRebuild } from '../gate/gate-rebuild.js';
import { GateConfig, RoomConfig } from '../infra/config/app-config.js';
import { doorSignals, nextRate, type RateStep } from '../overload/admission-rate.js';
import { DoorsReader } from '../overload/doors.js';
import type { RoomSale } from './room-sale.js';

/** How often an `auto` room's rate takes a step (ms). */
const STEP_MS = 1000;
/** The purchase p99 in the API an `auto` room keeps under (ms). */
export const AUTO_TARGET_P99_MS = 200;

interface AutoState {
  rate: number;
  at: number;
  /** The gate's persisted-units counter at the last step (for the drain rate). */
  persisted: number | null;
  last: RateStep | null;
}

/**
 * The rate each room's admitter lets shoppers in at: the configured one, or
 * for an `auto` room the overload control's law (overload/admission-rate.ts),
 * one step a second from what the purchase path measures: every API copy's
 * door (shed purchases, overload, purchase p99, in flight against the
 * limits), the sale's hand-off backlog and the drain. It starts at
 * ROOM_DEFAULT_ADMIT_PER_SECOND and stays within ROOM_AUTO_MIN/MAX_PER_SECOND.
 */
@Injectable()
export class RoomRates {
  private readonly auto = new Map<string, AutoState>();

  constructor(
    @Inject(RoomConfig) private readonly config: RoomConfig,
    @Inject(GateConfig) private readonly gateConfig: GateConfig,
    @Inject(DoorsReader) private readonly doors: DoorsReader,
    @Inject(GateReadModel) private readonly gate: GateReadModel,
    @Inject(GateRebuild) private readonly rebuild: GateRebuild,
    @Inject(GateLayout) private readonly layout: GateLayout,
  ) {}

  /** This turn's rate; an `auto` room's takes a step when the last is a second old. */
  async rateFor(room: RoomSale, now = Date.now()): Promise<number> {
    if (room.room.admitPerSecond !== 'auto') return room.room.admitPerSecond;
    const bounds = { min: this.config.ROOM_AUTO_MIN_PER_SECOND, max: this.config.ROOM_AUTO_MAX_PER_SECOND };
    let state = this.auto.get(room.id);
    if (!state) {
      state = {
        rate: Math.min(bounds.max, Math.max(bounds.min, this.config.ROOM_DEFAULT_ADMIT_PER_SECOND)),
        at: now,
        persisted: null,
        last: null,
      };
      this.auto.set(room.id, state);
      return state.rate;
    }
    if (now - state.at < STEP_MS || now < room.startsAt) return state.rate;
    const seconds = (now - state.at) / 1000;
    const [doors, backlog, persisted] = await Promise.all([
      this.doors.read(now),
      this.gate.pendingCount(room.id),
      this.persistedUnits(room.id),
    ]);
    const drainPerSecond = state.persisted === null ? 0 : Math.max(0, (persisted - state.persisted) / seconds);
    const step = nextRate(
      state.rate,
      { ...doorSignals(doors), backlog, drainPerSecond: state.persisted === null ? Infinity : drainPerSecond },
      {
        minRate: bounds.min,
        maxRate: bounds.max,
        targetP99Ms: AUTO_TARGET_P99_MS,
        backlogBound: Math.floor((this.gateConfig.BACKLOG_CAP * this.gateConfig.BACKLOG_PACE_FROM_PERCENT) / 100),
      },
    );
    this.auto.set(room.id, { rate: step.rate, at: now, persisted, last: step });
    return step.rate;
  }

  /** The last step of an `auto` room (rate and the rule that set it), for operators. */
  lastStep(saleId: string): RateStep | null {
    return this.auto.get(saleId)?.last ?? null;
  }

  forget(saleId: string): void {
    this.auto.delete(saleId);
  }

  private async persistedUnits(saleId: string): Promise<number> {
    const buckets = await this.layout.bucketsOf(saleId);
    return (await this.rebuild.persistedMark(saleId, buckets)).reduce((a, b) => a + b, 0);
  }
}
