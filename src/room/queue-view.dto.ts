/** The answer of the queue routes, as classes for the OpenAPI document (the service returns an interface). */
import { ApiProperty } from '@nestjs/swagger';
import { EXAMPLE } from '../infra/openapi/examples.js';
import type { QueueState } from './room-terms.js';
import type { QueueView } from './room.service.js';

export class WaitRangeDto {
  low!: number;
  high!: number;
}

export class AdmissionDto {
  /** Send it as the header Admission-Token of the purchase; it buys once. */
  token!: string;
  expiresAt!: Date;
}

export class QueueViewDto implements QueueView {
  /** prequeue, waiting, admitted, used (bought with the admission), sold_out (place kept for returned units), closed, full, not_open, left */
  @ApiProperty({
    enum: ['prequeue', 'waiting', 'admitted', 'used', 'sold_out', 'closed', 'full', 'not_open', 'left'],
  })
  state!: QueueState;
  /** 1 = next in line; null in the pre-queue (the order is drawn at the start) and when not waiting. */
  @ApiProperty({ type: Number, nullable: true })
  position!: number | null;
  /** Seconds until admission, as a range (0, 0 when not waiting). */
  estimatedWaitSeconds!: WaitRangeDto;
  /** Poll again after this long, not before. */
  refreshAfterSeconds!: number;
  /** Shoppers waiting in the room. */
  queueLength!: number;
  /** Admissions per second the estimate is based on. */
  admitPerSecond!: number;
  /** When the sale starts selling. */
  startsAt!: Date;
  /** Once admitted: the token to buy with and until when it holds; else null. */
  @ApiProperty({ type: AdmissionDto, nullable: true })
  admission!: AdmissionDto | null;
  /** Send it back as header Queue-Token on the next poll; null when not waiting. */
  @ApiProperty({ type: String, nullable: true })
  queueToken!: string | null;
}

export const QUEUE_VIEW_EXAMPLE = {
  state: 'waiting',
  position: 1840,
  estimatedWaitSeconds: { low: 7, high: 11 },
  refreshAfterSeconds: 2,
  queueLength: 52311,
  admitPerSecond: 201.4,
  startsAt: EXAMPLE.at,
  admission: null,
  queueToken: 'eyJzdGF0ZSI6IndhaXRpbmciLCJwb3NpdGlvbiI6MTg0MH0.Xq3u9bQ0mLw2c1Zr7TtYhA',
};
