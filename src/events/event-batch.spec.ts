import { describe, expect, it } from '@jest/globals';
import { EventName, type PayloadGuard } from '../infra/queues/queues.js';
import { eventGuards, eventsOf, type EventData } from './event-batch.js';

type Placed = { orderId: string; saleId: string; userId: string; quantity: number };
const placed = (orderId: string): Placed => ({ orderId, saleId: 's1', userId: 'u1', quantity: 1 });
const isPlaced = ((p: unknown) => typeof (p as Partial<Placed> | null)?.orderId === 'string') as PayloadGuard<Placed>;
const { [EventName.OrderPlaced]: guard } = eventGuards({ [EventName.OrderPlaced]: isPlaced });
const type = EventName.OrderPlaced;

describe('the guard of an event job', () => {
  it.each<[string, unknown]>([
    ['rows of batches (today)', { rows: [{ eventId: 'e1', payloads: [placed('o1'), placed('o2')] }] }],
    [
      'a row without events beside one with',
      {
        rows: [
          { eventId: 'e1', payloads: [] },
          { eventId: 'e2', payloads: [placed('o1')] },
        ],
      },
    ],
    ['{events} (relayed before rows carried batches)', { events: [{ eventId: 'e1', type, payload: placed('o1') }] }],
    ['one event (before that)', { eventId: 'e1', type, payload: placed('o1') }],
  ])('accepts %s', (_case, data) => {
    expect(guard(data)).toBe(true);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['no rows at all', { rows: [] }],
    ['rows without a single event', { rows: [{ eventId: 'e1', payloads: [] }] }],
    ['a row without its id', { rows: [{ payloads: [placed('o1')] }] }],
    ['a row whose payloads are not a list', { rows: [{ eventId: 'e1', payloads: placed('o1') }] }],
    ['a payload its guard refuses', { rows: [{ eventId: 'e1', payloads: [placed('o1'), { order: 'o2' }] }] }],
    ['an empty {events}', { events: [] }],
    ['an event of another type', { events: [{ eventId: 'e1', type: EventName.OrderPaid, payload: placed('o1') }] }],
    ['one event without its id', { type, payload: placed('o1') }],
    ['one event without its payload', { eventId: 'e1', type }],
  ])('refuses %s', (_case, data) => {
    expect(guard(data)).toBe(false);
  });
});

describe('eventsOf', () => {
  const of = (data: EventData<typeof EventName.OrderPlaced>) => eventsOf({ name: type, data });

  it('gives one event per payload, in order, each with the id of its row', () => {
    expect(
      of({
        rows: [
          { eventId: 'e1', payloads: [placed('o1'), placed('o2')] },
          { eventId: 'e2', payloads: [placed('o3')] },
        ],
      }),
    ).toEqual([
      { eventId: 'e1', type, payload: placed('o1') },
      { eventId: 'e1', type, payload: placed('o2') },
      { eventId: 'e2', type, payload: placed('o3') },
    ]);
  });

  it('reads the older shapes as they were', () => {
    const event = { eventId: 'e1', type, payload: placed('o1') };
    expect(of({ events: [event] })).toEqual([event]);
    expect(of(event)).toEqual([event]);
  });
});
