import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { TokenVerifier } from '../auth/token-verifier.js';
import { GateMetrics } from './gate.metrics.js';
import { SoldOutFlags } from './sold-out-flags.js';

const BUY = /^\/sales\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/orders\/?(?:\?|$)/i;
const SOLD_OUT_BODY = JSON.stringify({ statusCode: 409, code: 'SOLD_OUT', message: 'The sale is sold out' });

/**
 * The crowd that arrives after the last unit: once this process knows a sale
 * is sold out, a buy request with a valid token is answered 409 SOLD_OUT in a
 * Fastify hook, before Nest's routing, guards and pipes, and without Redis.
 * (Its body is not validated: whatever it asks for, the answer is sold out.)
 * Requests with an Idempotency-Key still go the full way, so a replay finds
 * its first answer; so do purchases with a waiting room's Admission-Token
 * (at most the room's active shoppers: the gate's refusal ends their turn
 * and frees the slot); requests without a valid token too, so they get 401.
 */
@Injectable()
export class SoldOutShortcut implements OnModuleInit {
  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(SoldOutFlags) private readonly flags: SoldOutFlags,
    @Inject(TokenVerifier) private readonly tokens: TokenVerifier,
    @Inject(GateMetrics) private readonly gateMetrics: GateMetrics,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', async (request, reply) => {
      if (request.method !== 'POST' || !this.flags.anySoldOut()) return;
      const saleId = BUY.exec(request.url)?.[1]?.toLowerCase();
      if (!saleId || !this.flags.isSoldOut(saleId)) return;
      // A replay must find its first answer; a purchase with a waiting room's admission must end the shopper's
      // turn (the gate's refusal frees the slot, and a unit back since is theirs): both go the full way.
      if (request.headers['idempotency-key'] !== undefined || request.headers['admission-token'] !== undefined) return;
      // No valid token (or odd claims): the guard answers 401.
      if (!this.tokens.userOf(request.headers.authorization)) return;
      this.flags.count(saleId, 'SOLD_OUT');
      this.gateMetrics.gateDecision(saleId, 'SOLD_OUT');
      return reply
        .status(409)
        .header('content-type', 'application/json; charset=utf-8')
        .header('x-request-id', request.id)
        .send(SOLD_OUT_BODY);
    });
  }
}
