import { Module, type DynamicModule } from '@nestjs/common';
import type { OverloadConfig } from '../infra/config/app-config.js';
import { DoorsPublisher, DoorsReader } from './doors.js';
import { OverloadDoor, type DoorSettings } from './door.js';
import { OverloadMetrics } from './overload.metrics.js';

/** The door's settings from the config slice. */
export function doorSettings(config: OverloadConfig): DoorSettings {
  return {
    enabled: config.OVERLOAD_CONTROL,
    targetMs: config.OVERLOAD_TARGET_MS,
    intervalMs: config.OVERLOAD_INTERVAL_MS,
    maxElu: config.OVERLOAD_MAX_ELU_PERCENT / 100,
    initialLimit: config.OVERLOAD_INITIAL_LIMIT,
    minLimit: config.OVERLOAD_MIN_LIMIT,
    maxLimit: config.OVERLOAD_MAX_LIMIT,
    retryAfterSeconds: config.OVERLOAD_RETRY_AFTER_SECONDS,
    turnMs: config.OVERLOAD_TURN_MS,
    shedHoldMs: config.OVERLOAD_SHED_HOLD_MS,
  };
}

/**
 * Reading the doors of every API copy (any process with Redis: the waiting
 * room's admitter).
 */
@Module({ providers: [DoorsReader], exports: [DoorsReader] })
export class DoorsModule {}

/**
 * Overload control in the API process: the door (made before Nest, as it
 * sits in front of Fastify: see http-app.ts), its metrics, and the
 * publication of its state for the waiting room.
 */
@Module({})
export class OverloadModule {
  static forRoot(door: OverloadDoor): DynamicModule {
    return {
      module: OverloadModule,
      providers: [{ provide: OverloadDoor, useValue: door }, OverloadMetrics, DoorsPublisher],
      exports: [OverloadDoor],
    };
  }
}
