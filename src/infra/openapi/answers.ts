import { applyDecorators, SetMetadata, type Type } from '@nestjs/common';
import { ApiHeader, ApiResponse, type ResponseObject } from '@nestjs/swagger';
import type { ErrorCode } from '../errors/error-codes.js';
import { IDEMPOTENCY_KEY } from '../http/idempotency-key.js';

/** Where @Answers leaves what the OpenAPI document completes (ops/openapi): the error codes and the request example. */
export const ANSWERS = 'openapi:answers';

/** A route's answers as the OpenAPI document shows them. */
export interface RouteAnswers {
  /** The status of success. */
  status: number;
  /** Its body: a view class (JSON), or a media type (text); neither: no body (204). */
  body?: Type;
  media?: 'text/event-stream' | 'text/plain' | 'text/html';
  example?: unknown;
  /**
   * The stable error codes of the route beyond those its auth, body and query
   * bring (the document adds those); their statuses come from ERROR_STATUS.
   */
  errors?: ErrorCode[];
  /** The route reads an `Idempotency-Key` header: what it does with it. */
  idempotencyKey?: string;
  /** Other request headers the route reads. */
  headers?: { name: string; description: string }[];
  requestExample?: unknown;
}

/** The success answer of a route without a view class: none (204) or text. */
export function plainSuccess({ status, media, example }: RouteAnswers): ResponseObject {
  if (status === 204 || !media) return { description: 'Done; no body' };
  return { description: media, content: { [media]: { schema: { type: 'string' }, example } } };
}

/**
 * What a handler answers, on the handler: its success (status, view class,
 * example), its error codes, the headers it reads. Applied through
 * @nestjs/swagger's decorators; the error responses are built by the document
 * (ops/openapi), which adds the codes every route of the kind shares.
 */
export function Answers(answers: RouteAnswers): MethodDecorator {
  const { status, body, example, idempotencyKey, headers = [] } = answers;
  return applyDecorators(
    SetMetadata(ANSWERS, answers),
    body
      ? ApiResponse({ status, type: body, description: body.name.replace(/Dto$/, ''), example })
      : ApiResponse({ status, ...plainSuccess(answers) }),
    ...(idempotencyKey
      ? [
          ApiHeader({
            name: 'Idempotency-Key',
            required: false,
            description: idempotencyKey,
            schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source },
          }),
        ]
      : []),
    ...headers.map(({ name, description }) => ApiHeader({ name, description, required: false })),
  );
}
