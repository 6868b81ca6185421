import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';

export const QUEUE_BOARD_PATH = '/admin/queues';

/**
 * bull-board at /admin/queues: every queue, its jobs, retry and clean of the
 * failed ones. It has no auth of its own, so it lives in its own Fastify scope
 * whose onRequest hook (admin only) runs before every route of it: the HTML,
 * the static files and the JSON API that retries and cleans.
 */
export async function registerQueueBoard(
  fastify: FastifyInstance,
  queues: Queue[],
  adminOnly: onRequestHookHandler,
): Promise<void> {
  const board = new FastifyAdapter();
  board.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'flash-sale queues' } },
  });
  await fastify.register(async (scope) => {
    scope.addHook('onRequest', adminOnly);
    await scope.register(board.registerPlugin(), { prefix: QUEUE_BOARD_PATH });
  });
}
