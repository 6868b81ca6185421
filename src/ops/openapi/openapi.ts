import type { Type } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  DocumentBuilder,
  getSchemaPath,
  SwaggerModule,
  type OpenAPIObject,
  type OperationObject,
  type ParameterObject,
  type PathItemObject,
  type ResponseObject,
} from '@nestjs/swagger';
import { getMetadataStorage } from 'class-validator';
import { IS_PUBLIC, ROLES } from '../../auth/auth.decorators.js';
import { ERROR_STATUS, type ErrorCode } from '../../infra/errors/error-codes.js';
import { ErrorBodyDto } from '../../infra/http/error-body.dto.js';
import { ANSWERS, plainSuccess, type RouteAnswers } from '../../infra/openapi/answers.js';
import { ADMIN_COOKIE } from '../admin/admin-access.js';
import { FASTIFY_ROUTES, type FastifyRoute } from './fastify-routes.js';

export const DOCS_PATH = 'docs';

/** A typical message for each code, shown in the error examples. */
const MESSAGES: Record<ErrorCode, string> = {
  VALIDATION_FAILED: 'quantity: must not be greater than 1000',
  MALFORMED_BODY: 'Request body could not be parsed',
  UNAUTHORIZED: 'A bearer token is required',
  FORBIDDEN: 'This needs the admin role',
  NOT_FOUND: 'Not found',
  METHOD_NOT_ALLOWED: 'Method not allowed',
  CONFLICT: 'The stock of this sale is changing right now; try again',
  PAYLOAD_TOO_LARGE: 'Request body is too large',
  UNSUPPORTED_MEDIA_TYPE: 'Send the body as JSON (Content-Type: application/json)',
  MALFORMED_URL: 'The URL could not be decoded',
  URI_TOO_LONG: 'The URL is too long',
  REQUEST_TIMEOUT: 'The request did not arrive in time',
  MALFORMED_REQUEST: 'The request could not be parsed (malformed, or its headers too large)',
  TOO_MANY_CONNECTIONS: 'Too many open connections; try again shortly',
  TOO_MANY_STREAMS: 'Too many open status streams for this shopper; close one first',
  STREAMS_BUSY: 'Too many open status streams; try again shortly',
  RATE_LIMITED: 'Too many attempts; slow down',
  EMAIL_TAKEN: 'An account with this email exists',
  INVALID_CREDENTIALS: 'Email or password is wrong',
  SALE_NOT_FOUND: 'No such sale',
  SALE_ENDED: 'The sale has ended; it cannot change',
  SALE_ALREADY_STARTED: 'The sale has begun; its start cannot move',
  SALE_HAS_ORDERS: 'The sale has orders; end it instead of deleting it',
  STOCK_BELOW_SOLD: 'Stock cannot go below the 588 unit(s) already sold',
  SOLD_OUT: 'The sale is sold out',
  LIMIT_EXCEEDED: 'This would exceed the per-shopper limit of the sale',
  SALE_NOT_ACTIVE: 'The sale is not open (not started, paused or ended)',
  BUSY: 'Too many orders are waiting; try again shortly',
  UNAVAILABLE: 'Purchases are briefly unavailable; nothing was bought. Try again shortly',
  OUTCOME_UNKNOWN:
    'The purchase could not be confirmed; it may still be placed as order 01JD3N8V4Q9RZ6T5XW2K7M1C0B: look it up at /orders/01JD3N8V4Q9RZ6T5XW2K7M1C0B',
  GATE_NOT_READY: 'The sale is being prepared; try again shortly',
  OVERLOADED: 'The service is overloaded; nothing was done. Try again shortly',
  ORDER_NOT_FOUND: 'No such order',
  ORDER_LOST:
    'This order was admitted but lost in a data loss before it was recorded; nothing was charged. Try the purchase again',
  ADMISSION_REQUIRED:
    'This sale has a waiting room: join the queue (POST /sales/:id/queue) and buy with its admission (header Admission-Token)',
  ADMISSION_INVALID:
    "This admission is not valid (expired, altered, or another shopper's or sale's): join the queue again",
  ADMISSION_USED: 'This admission has already bought once',
  NO_WAITING_ROOM: 'This sale has no waiting room: buy directly',
  QUEUE_CLOSED: 'The sale has ended or sold out: the queue takes nobody new',
  QUEUE_NOT_OPEN: 'The queue is not open yet; it opens before the sale starts',
  QUEUE_FULL: 'The queue is full; try again shortly',
  ORDER_NOT_PAYABLE: 'The order cannot be paid: it was cancelled',
  ORDER_NOT_CANCELLABLE: 'The order cannot be cancelled: it is PAID',
  PAYMENT_DECLINED: 'The payment was declined: insufficient funds',
  PAYMENT_UNAVAILABLE: 'The payment could not be made; nothing was charged, try again',
  NOTIFICATION_NOT_FOUND: 'No such notification',
  NOTIFICATION_NOT_RETRYABLE: 'Only a FAILED notification can be retried',
  CHALLENGE_REQUIRED: 'Joining this queue needs a solved challenge (header Join-Proof)',
  CHALLENGE_MALFORMED: 'Join-Proof must be <challenge>:<number>',
  CHALLENGE_INVALID: 'The challenge does not belong to this shopper and sale, or the number does not solve it',
  CHALLENGE_EXPIRED: 'The challenge has expired; get a new one',
  CHALLENGE_USED: 'The challenge was used already; get a new one',
  CHALLENGE_STALE: 'This join needs a harder challenge; get a new one',
  JOIN_REFUSED: 'Too many accounts joined this sale from this address',
  UNHEALTHY: 'redis is down',
  INTERNAL_ERROR: 'Internal error',
};

/** Errors whose answer carries Retry-After. */
const RETRY_AFTER: ErrorCode[] = [
  'RATE_LIMITED',
  'BUSY',
  'GATE_NOT_READY',
  'UNAVAILABLE',
  'OUTCOME_UNKNOWN',
  'STREAMS_BUSY',
  'OVERLOADED',
  'QUEUE_FULL',
];
const BODY_ERRORS: ErrorCode[] = ['VALIDATION_FAILED', 'MALFORMED_BODY', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

const DESCRIPTION = `A flash-sale backend: a small stock goes on sale at a set moment and a crowd buys it within seconds.

Every error has the shape \`{statusCode, code, message}\` (validation errors add \`details\`); clients switch on \`code\`, listed per operation with its status. Any operation may also answer 503 \`UNAVAILABLE\` (with Retry-After) while Postgres or Redis is out of reach, 503 \`OVERLOADED\` (with Retry-After: an overloaded API copy sheds browsing first, then order reads, purchases last; never health, metrics, admin or docs; nothing was done), 500 \`INTERNAL_ERROR\` (never expected) and an unknown route 404 \`NOT_FOUND\`, an over-long URL 414 \`URI_TOO_LONG\`, an undecodable one 400 \`MALFORMED_URL\`. Every answer carries an \`x-request-id\` header, also found in the server's log lines.

Send \`Authorization: Bearer <accessToken>\` (from POST /auth/login) to the operations marked with a lock. Admin pages outside this document: the queue dashboard at /admin/queues and the live view at /admin/live (sign in there, or POST /admin/session).`;

type PluginProperty = { required?: boolean; type?: unknown; default?: unknown } & Partial<
  Record<'minimum' | 'maximum' | 'minLength' | 'maxLength', number>
>;
/** class-validator's limits, by constraint name (the plugin drops those given as named constants). */
const LIMITS: Record<string, 'minimum' | 'maximum' | 'minLength' | 'maxLength'> = {
  min: 'minimum',
  max: 'maximum',
  minLength: 'minLength',
  maxLength: 'maxLength',
};
type PluginMetadata = {
  '@nestjs/swagger': { models: [Promise<Record<string, unknown>>, Record<string, Record<string, PluginProperty>>][] };
};

/**
 * The plugin's metadata, with what it cannot see from the source: a property
 * with an initializer (`page = 1`) is optional and has that default and its
 * type, `@IsInt()` means an integer (the plugin says number), and limits
 * given as constants (`@Max(MAX_STOCK)`) are read from class-validator.
 */
async function pluginMetadata(): Promise<PluginMetadata> {
  // The generated module's own type is one literal per DTO: read it through the shape they share.
  const metadata = (await (await import('../../generated/openapi/metadata.js')).default()) as unknown as PluginMetadata;
  for (const [load, classes] of metadata['@nestjs/swagger'].models) {
    const module = await load;
    for (const [name, properties] of Object.entries(classes)) {
      const dto = module[name] as Type | undefined;
      if (dto) refine(dto, properties);
    }
  }
  return metadata;
}

function refine(dto: Type, properties: Record<string, PluginProperty>): void {
  let instance: Record<string, unknown> = {};
  try {
    instance = new dto() as Record<string, unknown>;
  } catch {
    // a class that needs arguments has no defaults to read
  }
  const rules = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
  for (const [property, meta] of Object.entries(properties)) {
    const initial = instance[property];
    if (initial !== undefined) {
      meta.required = false;
      meta.default = initial;
      if (['boolean', 'number', 'string'].includes(typeof initial)) meta.type = typeof initial;
    }
    for (const rule of rules.filter((r) => r.propertyName === property)) {
      const limit: unknown = rule.constraints?.[0];
      if (rule.name === 'isInt') meta.type = 'integer';
      else if (typeof limit === 'number' && rule.name && rule.name in LIMITS) meta[LIMITS[rule.name]!] = limit;
    }
  }
}

type Access = 'public' | 'customer' | 'admin';

/** What the document needs of a handler beyond what @nestjs/swagger reads: who may call it, its @Answers. */
interface Handler {
  access: Access;
  answers?: RouteAnswers;
}

/** operationId (`Controller_method`) → its handler's access (from @Public()/@Roles()) and @Answers. */
function handlersByOperation(app: NestFastifyApplication): Map<string, Handler> {
  const reflector = app.get(Reflector);
  const handlers = new Map<string, Handler>();
  for (const { metatype } of app.get(DiscoveryService).getControllers()) {
    if (typeof metatype !== 'function') continue;
    const prototype = metatype.prototype as Record<string, unknown>;
    for (const method of Object.getOwnPropertyNames(prototype)) {
      const handler = prototype[method];
      if (method === 'constructor' || typeof handler !== 'function') continue;
      const targets = [handler, metatype];
      const roles = reflector.getAllAndOverride<string[] | undefined>(ROLES, targets);
      const open = reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets);
      handlers.set(`${metatype.name}_${method}`, {
        access: open ? 'public' : roles?.includes('ADMIN') && !roles.includes('CUSTOMER') ? 'admin' : 'customer',
        answers: reflector.get<RouteAnswers | undefined>(ANSWERS, handler as () => unknown),
      });
    }
  }
  return handlers;
}

function errorResponses(codes: ErrorCode[]): Record<string, ResponseObject> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  const responses: Record<string, ResponseObject> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const response: ResponseObject = {
      description: list.join(', '),
      content: {
        'application/json': {
          schema: {
            allOf: [
              { $ref: getSchemaPath(ErrorBodyDto) },
              {
                type: 'object',
                properties: { statusCode: { type: 'integer', enum: [status] }, code: { type: 'string', enum: list } },
              },
            ],
          },
          examples: Object.fromEntries(
            list.map((code) => [code, { summary: code, value: { statusCode: status, code, message: MESSAGES[code] } }]),
          ),
        },
      },
    };
    if (list.some((code) => RETRY_AFTER.includes(code))) {
      response.headers = {
        'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } },
      };
    }
    responses[String(status)] = response;
  }
  return responses;
}

/**
 * Completes an operation from its handler's @Answers with what every route
 * of its kind shares: the errors its auth, body and query bring, the error
 * responses by status, the security, the request example.
 */
function complete(
  operation: OperationObject,
  answers: RouteAnswers,
  access: Access,
  auth?: FastifyRoute['auth'],
): void {
  const codes = new Set<ErrorCode>(answers.errors ?? []);
  if (operation.requestBody) for (const code of BODY_ERRORS) codes.add(code);
  const parameters = (operation.parameters ?? []) as ParameterObject[];
  if (parameters.some((p) => p.in === 'query')) codes.add('VALIDATION_FAILED');
  if (answers.idempotencyKey) codes.add('VALIDATION_FAILED');
  if (access !== 'public') {
    codes.add('UNAUTHORIZED');
    operation.security = auth === 'metrics-token' ? [{ metricsToken: [] }] : [{ bearer: [] }];
    if (auth === 'admin-page') operation.security.push({ adminCookie: [] });
  }
  if (access === 'admin') {
    codes.add('FORBIDDEN');
    operation.description = `Admin only.${operation.description ? `\n\n${operation.description}` : ''}`;
  }
  operation.responses = { ...operation.responses, ...errorResponses([...codes]) };
  const body = operation.requestBody;
  if (answers.requestExample !== undefined && body && 'content' in body && body.content['application/json']) {
    body.content['application/json'].example = answers.requestExample;
  }
}

/** A body whose fields are all optional (`{quantity?}`) may be left out. */
function optionalBody(document: OpenAPIObject, operation: OperationObject | undefined): void {
  const body = operation?.requestBody;
  if (!body || !('content' in body)) return;
  const ref = (body.content['application/json']?.schema as { $ref?: string } | undefined)?.$ref;
  const schema = ref ? document.components?.schemas?.[ref.split('/').pop()!] : undefined;
  if (schema && 'properties' in schema && !schema.required?.length) body.required = false;
}

/** The OpenAPI 3 document of the running app: Nest's routes from the controllers and DTOs, plus the ops routes. */
export function buildOpenApiDocument(app: NestFastifyApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('flash-sale')
    .setDescription(DESCRIPTION)
    .setVersion('1')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The accessToken of POST /auth/login' },
      'bearer',
    )
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when set' }, 'metricsToken')
    .addCookieAuth(
      ADMIN_COOKIE,
      { type: 'apiKey', in: 'cookie', description: 'Set by POST /admin/session' },
      'adminCookie',
    )
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    extraModels: [ErrorBodyDto],
    operationIdFactory: (controller, method) => `${controller}_${method}`,
  });
  const handlers = handlersByOperation(app);
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = (item as PathItemObject)[method];
      const handler = handlers.get(operation?.operationId ?? '');
      if (operation && handler?.answers) complete(operation, handler.answers, handler.access);
      optionalBody(document, operation);
    }
  }
  for (const route of FASTIFY_ROUTES) {
    const { method, path, summary, description, auth, answers } = route;
    const operation: OperationObject = {
      operationId: `ops_${method.toLowerCase()}_${path.replace(/\W+/g, '_').replace(/^_|_$/g, '')}`,
      summary,
      description,
      tags: ['ops'],
      parameters: [],
      responses: { [String(answers.status)]: plainSuccess(answers) },
    };
    complete(operation, answers, auth === 'admin-page' ? 'admin' : 'customer', auth);
    if (auth === 'metrics-token') operation.security?.push({});
    document.paths[path] = { ...document.paths[path], [method.toLowerCase()]: operation };
  }
  return document;
}

/** Swagger UI at /docs, the document at /docs-json (and /docs-yaml), built on first request. */
export async function setupOpenApi(app: NestFastifyApplication): Promise<void> {
  await SwaggerModule.loadPluginMetadata(pluginMetadata);
  let document: OpenAPIObject | undefined;
  SwaggerModule.setup(DOCS_PATH, app, () => (document ??= buildOpenApiDocument(app)), {
    customSiteTitle: 'flash-sale API',
    swaggerOptions: { persistAuthorization: true, displayRequestDuration: true },
  });
}
