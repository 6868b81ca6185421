import { describe, expect, it } from '@jest/globals';
import { DomainError } from '../errors/domain-error.js';
import { ParseNotificationIdPipe, ParseOrderIdPipe, ParseSaleIdPipe } from './id-params.js';

const SALE = '0f4c2a9e-5b8d-4e21-9a7c-3d6b1e8f2a40';
const ORDER = '01JD3Z6W5Q8K4N2M7P9R1T3V5X';

/** What the pipe throws for `id`, as the exception filter answers it. */
function refusal(pipe: { transform(id: string): string }, id: string): unknown {
  try {
    pipe.transform(id);
  } catch (err) {
    return err instanceof DomainError ? { status: err.status, code: err.code, message: err.message } : err;
  }
  return 'accepted';
}

describe('id pipes: an id that cannot exist is answered like one that does not', () => {
  it.each([
    [
      'sale',
      new ParseSaleIdPipe(),
      [SALE, SALE.toUpperCase()],
      { status: 404, code: 'SALE_NOT_FOUND', message: 'No such sale' },
    ],
    ['order', new ParseOrderIdPipe(), [ORDER], { status: 404, code: 'ORDER_NOT_FOUND', message: 'No such order' }],
    [
      'notification',
      new ParseNotificationIdPipe(),
      [ORDER],
      { status: 404, code: 'NOTIFICATION_NOT_FOUND', message: 'No such notification' },
    ],
  ])('%s: a well-formed id passes unchanged, any other is 404 with its code', (_kind, pipe, valid, notFound) => {
    for (const id of valid) expect(pipe.transform(id)).toBe(id);
    const malformed = [
      '',
      'not-an-id',
      `${valid[0]!}0`,
      valid[0]!.slice(1),
      valid[0]!.toLowerCase().replace(/^0/, 'z'),
    ];
    for (const id of malformed) expect([id, refusal(pipe, id)]).toEqual([id, notFound]);
  });

  it('a sale id is a UUID, an order id a ULID: neither passes for the other', () => {
    expect(refusal(new ParseSaleIdPipe(), ORDER)).toMatchObject({ code: 'SALE_NOT_FOUND' });
    expect(refusal(new ParseOrderIdPipe(), SALE)).toMatchObject({ code: 'ORDER_NOT_FOUND' });
    expect(refusal(new ParseOrderIdPipe(), ORDER.toLowerCase())).toMatchObject({ code: 'ORDER_NOT_FOUND' });
  });
});
