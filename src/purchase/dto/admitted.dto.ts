import type { Admitted } from '../admission.service.js';

export class AdmittedDto implements Admitted {
  /** The order's id (a ULID): follow it on GET /orders/{id} or /orders/{id}/events. */
  orderId!: string;
  status!: 'QUEUED';
}
