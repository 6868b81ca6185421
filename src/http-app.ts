import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import type { AppConfig } from './infra/config/app-config.js';
import { AllExceptionsFilter } from './infra/http/all-exceptions.filter.js';
import { createValidationPipe } from './infra/http/validation.js';
import { rootLogger } from './infra/logging/logging.js';
import { setupOps } from './ops/ops.setup.js';

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
    // JSON lines through the process's one pino logger (buffered, redacted;
    // see infra/logging). It stays on with LOG_REQUESTS=false: the app's own
    // lines inside a request are written through the request's logger.
    loggerInstance: rootLogger(config),
    logController: config.LOG_REQUESTS ? new OneLineRequestLog() : new LogController({ disableRequestLogging: true }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    trustProxy: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new AllExceptionsFilter());
  await setupOps(app);
  return app;
}
