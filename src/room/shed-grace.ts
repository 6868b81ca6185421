import { Inject, Injectable, Logger } from '@nestjs/common';
import { DoorsReader, type DoorState } from '../overload/doors.js';
import { GONE_AFTER_MS } from './room-terms.js';

/** How far back shed seconds are remembered (s): the longest grace a waiter can get is this, less the silence. */
const HORIZON_S = 900;
/** How often the admitter reads the doors (ms): each copy publishes once a second. */
const READ_MS = 1000;

/**
 * The seconds in which some API copy shed waiting-room polls, and the grace
 * they give a silent waiter (pure: the clock is passed in).
 *
 * A waiter counts as gone after GONE_AFTER_MS without a poll. A poll shed at
 * the door (503 OVERLOADED) is not the waiter's silence: they did poll. So
 * silence is counted only in seconds in which no copy shed polls: walking back
 * from now, the grace is the number of shed seconds met before the unshed
 * ones reach the silence horizon. The admitter then counts as gone only the
 * waiters whose last poll is older than the silence horizon plus the grace,
 * i.e. those with more than GONE_AFTER_MS of unshed silence since it. No
 * Redis write on the shed path: the door only adds to a counter that its
 * published state (overload/doors.ts) carries once a second.
 */
export class ShedSeconds {
  /** Slot (second % HORIZON_S) → the second marked in it (-1: none). */
  private readonly slots = new Float64Array(HORIZON_S).fill(-1);

  /** Polls were shed during the second holding `ms`. */
  mark(ms: number): void {
    const second = Math.floor(ms / 1000);
    this.slots[second % HORIZON_S] = second;
  }

  /** Extra silence (ms) allowed at `now` for seconds of shed polls, so that only `silenceMs` of unshed silence is counted. */
  graceMs(now: number, silenceMs = GONE_AFTER_MS): number {
    const current = Math.floor(now / 1000);
    const silence = Math.ceil(silenceMs / 1000);
    let shed = 0;
    let unshed = 0;
    for (let i = 0; i < HORIZON_S && unshed < silence; i++) {
      const second = current - i;
      if (this.slots[second % HORIZON_S] === second) shed++;
      else unshed++;
    }
    return shed * 1000;
  }
}

/**
 * The admitter's view of shed polls: reads every copy's door state at most
 * once a second and marks the seconds in which any copy shed polls (the
 * state's second and the one before it: each state covers the second since
 * the previous one, and marking one second too many only lets a waiter stay
 * a second longer).
 */
@Injectable()
export class ShedGrace {
  private readonly logger = new Logger('RoomAdmitter');
  private readonly seconds = new ShedSeconds();
  private readAt = -Infinity;
  private warned = false;

  constructor(@Inject(DoorsReader) private readonly doors: DoorsReader) {}

  /** The grace (ms) for waiters' silence now; reads the doors when the last read is a second old. */
  async graceMs(now = Date.now()): Promise<number> {
    if (now - this.readAt >= READ_MS) {
      this.readAt = now;
      try {
        this.note(await this.doors.read(now));
        this.warned = false;
      } catch (err) {
        // Unread doors give no new grace; the turn itself goes on (and fails the same way if Redis is down).
        if (!this.warned) this.logger.warn(`doors not read for the waiters' grace: ${String(err)}`);
        this.warned = true;
      }
    }
    return this.seconds.graceMs(now);
  }

  /** Marks the seconds of the states that report shed polls. */
  note(doors: readonly DoorState[]): void {
    for (const door of doors) {
      if ((door.pollsShedPerSecond ?? 0) > 0) {
        this.seconds.mark(door.at);
        this.seconds.mark(door.at - 1000);
      }
    }
  }
}
