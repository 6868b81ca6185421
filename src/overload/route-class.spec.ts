import { describe, expect, it } from '@jest/globals';
import { classify, isStream, roomRequest } from './route-class.js';

describe('classify', () => {
  it.each([
    ['POST', '/sales/0b6f7d2e-1111-4222-8333-944445555666/orders', 'buy'],
    ['POST', '/orders/01J/pay', 'buy'],
    ['POST', '/orders/01J/cancel', 'buy'],
    ['GET', '/orders/01J', 'track'],
    ['GET', '/orders/01J/events', 'track'],
    ['GET', '/me/orders?limit=5', 'track'],
    ['POST', '/auth/login', 'track'],
    ['POST', '/sales/abc/queue', 'track'],
    ['GET', '/sales/abc/queue', 'browse'],
    ['DELETE', '/sales/abc/queue', 'browse'],
    ['GET', '/sales', 'browse'],
    ['GET', '/sales/abc', 'browse'],
    ['GET', '/nowhere', 'browse'],
    ['GET', '/health', 'exempt'],
    ['GET', '/health/ready', 'exempt'],
    ['GET', '/metrics', 'exempt'],
    ['POST', '/admin/sales', 'exempt'],
    ['GET', '/admin/live/stream', 'exempt'],
    ['GET', '/docs', 'exempt'],
    ['OPTIONS', '/sales/abc/orders', 'exempt'],
    ['GET', '/healthz', 'browse'],
    ['GET', '/administrator', 'browse'],
  ])('%s %s is %s', (method, url, expected) => {
    expect(classify(method, url)).toBe(expected);
  });

  it('knows the streams', () => {
    expect(isStream('/orders/01J/events')).toBe(true);
    expect(isStream('/orders/01J/events?x=1')).toBe(true);
    expect(isStream('/orders/01J')).toBe(false);
  });

  it("knows a waiting room's joins and polls", () => {
    expect(roomRequest('POST', '/sales/abc/queue')).toBe('join');
    expect(roomRequest('GET', '/sales/abc/queue')).toBe('poll');
    expect(roomRequest('GET', '/sales/abc/queue?x=1')).toBe('poll');
    expect(roomRequest('DELETE', '/sales/abc/queue')).toBeUndefined();
    expect(roomRequest('POST', '/sales/abc/orders')).toBeUndefined();
    expect(roomRequest('GET', '/me/queue')).toBeUndefined();
    expect(roomRequest('GET', undefined)).toBeUndefined();
  });
});
