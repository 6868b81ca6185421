import type { HealthBody } from './health.controller.js';

export class HealthDto implements HealthBody {
  status!: 'ok' | 'error';
  postgres!: 'up' | 'down';
  redis!: 'up' | 'down';
}

export class LivenessDto {
  status!: 'ok';
}
