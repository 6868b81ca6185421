import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { OpenAPIObject, OperationObject, ResponseObject, SchemaObject } from '@nestjs/swagger';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createHttpApp } from '../src/http-app.js';
import { testConfig } from './support/env.js';
import { request } from './support/http.js';

/** Left out of the document on purpose: the UIs (Swagger UI, bull-board) and their assets, HEAD twins of GETs. */
const NOT_DOCUMENTED = [/^HEAD /, /^\w+ \/docs/, /^\w+ \/admin\/queues/, /^\w+ \/shop(\/|$)/, /\.(js|css)$/];

type Operations = [key: string, operation: OperationObject][];

describe('OpenAPI document (GET /docs-json)', () => {
  const served = new Set<string>();
  let url: string;
  let close: () => Promise<void>;
  let document: OpenAPIObject;
  let operations: Operations;

  beforeAll(async () => {
    // The document needs no database: the app never connects to this one.
    const app = await createHttpApp(testConfig('postgresql://postgres@127.0.0.1:5432/openapi_test_needs_none'));
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRoute', (route) => {
        for (const method of [route.method].flat()) served.add(`${method} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
      });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    close = () => app.close();
    const res = await request<OpenAPIObject>(url, 'GET', '/docs-json');
    expect(res.status).toBe(200);
    document = res.body;
    operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item as Record<string, OperationObject>).map(([m, op]): [string, OperationObject] => [
        `${m.toUpperCase()} ${path}`,
        op,
      ]),
    );
  });

  afterAll(() => close());

  const schema = (name: string): SchemaObject => document.components!.schemas![name] as SchemaObject;
  const op = (key: string): OperationObject => operations.find(([k]) => k === key)![1];
  type Json = { schema: { $ref?: string }; example?: unknown; examples?: Record<string, unknown> };
  const json = (response: unknown): Json | undefined =>
    (response as ResponseObject | undefined)?.content?.['application/json'] as Json | undefined;
  const codes = (operation: OperationObject, status: string): string[] =>
    Object.keys(json(operation.responses[status])?.examples ?? {}).sort();

  it('is a valid OpenAPI 3 document', async () => {
    expect(document.openapi).toMatch(/^3\./);
    const copy: Record<string, unknown> = JSON.parse(JSON.stringify(document)) as Record<string, unknown>;
    const result = await new Validator().validate(copy);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('lists exactly the routes the app serves, each with the answers its handler declares (@Answers)', () => {
    const expected = [...served].filter((r) => !NOT_DOCUMENTED.some((skip) => skip.test(r))).sort();
    expect(expected.length).toBeGreaterThan(30);
    expect(operations.map(([key]) => key).sort()).toEqual(expected);
    for (const [key, operation] of operations) {
      // Without @Answers a handler gets @nestjs/swagger's default: one success with an empty description.
      const success = Object.entries(operation.responses).filter(([status]) => status.startsWith('2'));
      expect([key, success.length, (success[0]?.[1] as ResponseObject | undefined)?.description]).toEqual([
        key,
        1,
        expect.stringMatching(/\S/),
      ]);
    }
  });

  it('gives every JSON answer a real schema and an example', () => {
    for (const [key, operation] of operations) {
      for (const [status, response] of Object.entries(operation.responses)) {
        const content = json(response);
        if (!content) continue;
        const ref = content.schema.$ref ?? (content.schema as { allOf?: { $ref: string }[] }).allOf?.[0]?.$ref;
        const target = schema(ref!.split('/').pop()!);
        expect([key, status, Object.keys(target.properties ?? {}).length > 0]).toEqual([key, status, true]);
        expect([key, status, content.example ?? content.examples]).not.toEqual([key, status, undefined]);
      }
    }
  });

  it('marks bearer auth and the 401/403 answers from each handler’s roles', () => {
    for (const [key, operation] of operations) {
      const isPublic =
        ['POST /auth/register', 'POST /auth/login', 'GET /sales', 'GET /sales/{id}', 'DELETE /admin/session'].includes(
          key,
        ) || key.startsWith('GET /health');
      expect([key, Boolean(operation.security?.length)]).toEqual([key, !isPublic]);
      expect([key, codes(operation, '401').includes('UNAUTHORIZED')]).toEqual([key, !isPublic]);
      const adminOnly = key.includes('/admin/') && !isPublic;
      expect([key, codes(operation, '403')]).toEqual([
        key,
        adminOnly || key === 'POST /orders/{id}/pay'
          ? ['FORBIDDEN']
          : key === 'POST /sales/{id}/orders'
            ? ['ADMISSION_INVALID', 'ADMISSION_REQUIRED']
            : key === 'POST /sales/{id}/queue'
              ? ['CHALLENGE_EXPIRED', 'CHALLENGE_INVALID', 'CHALLENGE_REQUIRED', 'JOIN_REFUSED']
              : [],
      ]);
    }
    expect(op('POST /sales/{id}/orders').security).toEqual([{ bearer: [] }]);
  });

  it('lists the error codes of each route with their statuses and examples', () => {
    const buy = op('POST /sales/{id}/orders');
    expect(Object.keys(buy.responses).sort()).toEqual([
      '202',
      '400',
      '401',
      '403',
      '404',
      '409',
      '413',
      '415',
      '429',
      '503',
    ]);
    expect(codes(buy, '409')).toEqual(['ADMISSION_USED', 'LIMIT_EXCEEDED', 'SALE_NOT_ACTIVE', 'SOLD_OUT']);
    expect(codes(buy, '503')).toEqual(['BUSY', 'GATE_NOT_READY', 'OUTCOME_UNKNOWN', 'UNAVAILABLE']);
    expect((buy.responses['503'] as ResponseObject).headers).toHaveProperty('Retry-After');
    expect(json(buy.responses['202'])!.schema.$ref).toBe('#/components/schemas/AdmittedDto');
    expect(buy.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }),
        expect.objectContaining({ name: 'Admission-Token', in: 'header', required: false }),
      ]),
    );
    const patch = op('PATCH /admin/sales/{id}');
    expect(codes(patch, '409')).toEqual(['CONFLICT', 'SALE_ALREADY_STARTED', 'SALE_ENDED', 'STOCK_BELOW_SOLD']);
    expect(Object.keys(op('POST /auth/login').responses).sort()).toEqual([
      '200',
      '400',
      '401',
      '413',
      '415',
      '429',
      '503',
    ]);
  });

  it('carries the DTOs’ constraints and comments', () => {
    expect(schema('RegisterDto').required).toEqual(expect.arrayContaining(['email', 'phone', 'password']));
    expect(schema('RegisterDto').properties!.password).toMatchObject({ type: 'string', minLength: 8, maxLength: 128 });
    expect(schema('PurchaseDto').properties!.quantity).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 1,
    });
    expect(schema('PurchaseDto').required ?? []).not.toContain('quantity');
    expect(op('POST /sales/{id}/orders').requestBody).toMatchObject({ required: false });
    expect(op('POST /admin/sales').requestBody).toMatchObject({ required: true });
    expect(schema('CreateSaleDto').properties!.price).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 100_000_000,
    });
    expect(schema('CreateSaleDto').properties!.price!).toHaveProperty(
      'description',
      'Minor units (cents) of one unit.',
    );
    expect(schema('OrderViewDto').properties!.status).toMatchObject({
      enum: expect.arrayContaining(['QUEUED', 'PAID']),
    });
    const page = op('GET /me/orders').parameters!.find((p) => 'name' in p && p.name === 'pageSize');
    expect(page).toMatchObject({
      in: 'query',
      required: false,
      schema: { type: 'integer', default: 20, maximum: 100 },
    });
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await fetch(`${url}/docs`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('swagger-ui');
  });
});
