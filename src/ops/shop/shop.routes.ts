import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export const SHOP_PATH = '/shop/';
/** static/shop/ at the repository root: the same three levels up from src/ops/shop and dist/ops/shop. */
const DIR = new URL('../../../static/shop/', import.meta.url);

/**
 * The shopper's page at /shop/ (public): plain HTML, CSS and JS from
 * static/shop/, no build step. `/shop` redirects to `/shop/`; any file put in
 * static/shop/ is served (e.g. the anti-bot solver's worker script), revalidated
 * on each load (ETag). Its own CSP: scripts, styles, workers and requests only
 * from this origin, so a token kept in the tab's sessionStorage cannot be sent
 * elsewhere by an injected script.
 */
export async function registerShopPage(fastify: FastifyInstance): Promise<void> {
  await fastify.register(fastifyStatic, {
    root: DIR,
    prefix: '/shop', // the plugin serves /shop/… and, with redirect, sends /shop to /shop/
    redirect: true,
    index: 'index.html',
    decorateReply: false, // the API docs register the plugin too
    cacheControl: false,
    dotfiles: 'deny',
    setHeaders: (reply) => {
      void reply.header('cache-control', 'no-cache');
      void reply.header('content-security-policy', SHOP_CSP);
    },
  });
}

export const SHOP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
