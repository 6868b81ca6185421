import type { FastifyInstance, FastifyReply, onRequestHookHandler } from 'fastify';
import type { StaticPages } from '../admin/static-pages.js';
import type { LiveSalesService } from './live-sales.service.js';

export const LIVE_PATH = '/admin/live';
const PERIOD_MS = 1000;
const ASSETS = ['live.js'];

/**
 * The live sale view, admin only (its own Fastify scope and onRequest hook):
 * a static page and its script and style, and `/admin/live/stream`, server-sent
 * events with a sample of every watched sale each second. Streams end when
 * the server closes.
 */
export async function registerLiveView(
  fastify: FastifyInstance,
  adminOnly: onRequestHookHandler,
  pages: StaticPages,
  live: LiveSalesService,
): Promise<void> {
  const streams = new Set<() => void>();
  fastify.addHook('onClose', (_instance, done) => {
    for (const end of streams) end();
    done();
  });
  const page = (reply: FastifyReply, name: string): FastifyReply =>
    reply.type(pages.type(name)).header('cache-control', 'no-store').send(pages.get(name));

  await fastify.register(async (scope) => {
    scope.addHook('onRequest', adminOnly);
    scope.get(LIVE_PATH, (_request, reply) => page(reply, 'live.html'));
    for (const asset of ASSETS) scope.get(`${LIVE_PATH}/${asset}`, (_request, reply) => page(reply, asset));

    scope.get(`${LIVE_PATH}/stream`, (request, reply) => {
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      raw.write(`retry: ${2 * PERIOD_MS}\n\n`);
      let busy = false;
      const tick = async (): Promise<void> => {
        if (busy) return; // a slow read skips a beat rather than piling up
        busy = true;
        try {
          raw.write(`event: sample\ndata: ${JSON.stringify(await live.current())}\n\n`);
        } catch {
          raw.write(`event: problem\ndata: ${JSON.stringify({ message: 'figures unavailable' })}\n\n`);
        } finally {
          busy = false;
        }
      };
      const timer = setInterval(() => void tick(), PERIOD_MS);
      const end = (): void => {
        clearInterval(timer);
        streams.delete(end);
        raw.end();
      };
      streams.add(end);
      request.raw.on('close', end);
      void tick();
    });
  });
}
