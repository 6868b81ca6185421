/**
 * `node dist-bench/bench/overhead-server.js <setup> <port>`: NestJS + Fastify
 * with one route, GET /ping, set up as `setup` says (see SETUPS), for
 * bench/request-overhead.ts. Prints "ready" once listening.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '../src/infra/config/app-config.js';
import { hardenedFastifyOptions, hardenHttp } from '../src/infra/http/hardening.js';

@Controller()
class PingController {
  @Get('ping')
  ping(): { ok: true } {
    return { ok: true };
  }
}

@Module({ controllers: [PingController] })
class PingModule {}

/**
 * bare: Nest + Fastify, nothing added. before: what createHttpApp added on
 * every request before the hardening (client x-request-id taken as is,
 * trustProxy true, an async onSend hook setting x-request-id). after: the
 * hardening (safe request id, trusted proxies off, the security-headers hook,
 * JSON-only parsing). after-cors: the same with CORS_ORIGINS set.
 */
const SETUPS = ['bare', 'before', 'after', 'after-cors'];

async function main(): Promise<void> {
  const [setup = '', port] = process.argv.slice(2);
  if (!SETUPS.includes(setup)) throw new Error(`setup must be one of ${SETUPS.join(', ')}`);
  const config = loadConfig({
    DATABASE_URL: 'postgresql://unused@127.0.0.1/unused',
    REDIS_URL: 'redis://127.0.0.1:1',
    JWT_SECRET: 'x'.repeat(32),
    CORS_ORIGINS: setup === 'after-cors' ? 'https://shop.example.com' : '',
  });
  const hardened = setup === 'after' || setup === 'after-cors';
  const adapter = new FastifyAdapter({
    logger: false,
    ...(setup === 'before' ? { requestIdHeader: 'x-request-id', genReqId: () => randomUUID(), trustProxy: true } : {}),
    ...(hardened ? hardenedFastifyOptions(config) : {}),
  });
  const app = await NestFactory.create<NestFastifyApplication>(PingModule, adapter, {
    logger: false,
    ...(hardened ? { bodyParser: false } : {}),
  });
  if (setup === 'before') {
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onSend', async (request, reply) => {
        void reply.header('x-request-id', request.id);
      });
  }
  if (hardened) hardenHttp(app, config);
  await app.listen({ port: Number(port), host: '127.0.0.1' });
  console.log('ready');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
