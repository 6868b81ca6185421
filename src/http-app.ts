import { NestFactory } from '@nestjs/core';
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import type { AppConfig } from './infra/config/app-config.js';
import { logLevels } from './infra/config/log-levels.js';
import { AllExceptionsFilter } from './infra/http/all-exceptions.filter.js';
import { hardenedFastifyOptions, hardenHttp } from './infra/http/hardening.js';
import { createValidationPipe } from './infra/http/validation.js';

/** One log line per request, written when the answer is sent. */
class OneLineRequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(_error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    request.log.info(
      { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  }
}

/** Builds the API application (not yet listening). Tests use it as main.ts does. */
export async function createHttpApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    // Request lines go to stdout through an asynchronous buffer: one write
    // per 4 KB instead of one per request (flushed on exit).
    logger: config.LOG_REQUESTS
      ? { level: 'info', stream: pino.destination({ dest: 1, sync: false, minLength: 4096 }) }
      : false,
    logController: new OneLineRequestLog(),
    bodyLimit: config.BODY_LIMIT_BYTES,
    ...hardenedFastifyOptions(config),
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: logLevels(config.LOG_LEVEL),
    // Fastify's JSON parser only: Nest's would add a form parser (forms are 415 here).
    bodyParser: false,
  });
  hardenHttp(app, config);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new AllExceptionsFilter());
  return app;
}
