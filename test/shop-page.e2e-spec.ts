import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import type { Page } from 'playwright-core';
import type { SaleView } from '../src/sales/sale-view.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { createActiveSale, statusCounts } from './support/buy.js';
import { clearRedis, createTestDatabase, testConfig, type TestDatabase } from './support/env.js';
import { request, startApi, type RunningApi } from './support/http.js';
import { ROOT } from './support/processes.js';
import { createUsers, type TestUser } from './support/users.js';
import { startWorker } from './support/worker.js';

/** The picture of the page in docs/operating.md (a shopper waiting in the room); other screenshots go to test-output/. */
const SCREENSHOT = path.join(ROOT, 'docs', 'img', 'shop.png');
const OUTPUT = path.join(ROOT, 'test-output');
/** Every route static/shop/shop.js calls: the page must word each of their error codes. */
const CALLED_ROUTES = [
  'POST /auth/register',
  'POST /auth/login',
  'GET /sales',
  'GET /sales/{id}',
  'POST /sales/{id}/queue',
  'GET /sales/{id}/queue',
  'DELETE /sales/{id}/queue',
  'POST /sales/{id}/orders',
  'GET /orders/{id}',
  'GET /orders/{id}/events',
  'POST /orders/{id}/pay',
  'POST /orders/{id}/cancel',
  'GET /me/orders',
];

describe('the shop page (/shop/) in headless Chromium', () => {
  let db: TestDatabase;
  let api: RunningApi;
  let worker: INestApplicationContext;
  let config: ReturnType<typeof testConfig>;
  let browser: TestBrowser;
  let admin: TestUser;

  beforeAll(async () => {
    db = await createTestDatabase('shop');
    config = testConfig(db.url, { SMTP_URL: 'smtp://127.0.0.1:1' });
    api = await startApi(config);
    worker = await startWorker(config);
    [admin] = await createUsers(api, db.url, 1, 'ADMIN');
    browser = await launchBrowser({ width: 900, height: 760 });
  });

  afterAll(async () => {
    await browser?.close();
    await api.close();
    await worker.close();
    await clearRedis(config);
    await db.drop();
  });

  /** A fresh tab; the page's own errors fail the test that opened it. */
  async function openTab(): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    return { page, errors };
  }

  const orderStatus = (page: Page, status: string) =>
    page.waitForSelector(`#order[data-status="${status}"]`, { timeout: 30_000 });

  it('is served at /shop/ with its script and style, under a CSP that keeps requests on this origin', async () => {
    const bare = await fetch(`${api.url}/shop`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/shop/');
    const page = await request(api.url, 'GET', '/shop/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.body).toContain('<script src="/shop/shop.js"></script>');
    for (const [file, type] of [
      ['shop.js', 'javascript'],
      ['shop.css', 'text/css'],
    ]) {
      const asset = await request(api.url, 'GET', `/shop/${file}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toContain(type);
    }
    const missing = await request<{ code: string }>(api.url, 'GET', '/shop/nothing-here.js');
    expect(missing.status).toBe(404);
    const traversal = await request(api.url, 'GET', '/shop/..%2f..%2fpackage.json');
    expect(traversal.status).toBeGreaterThanOrEqual(400);
  });

  it('has a message of its own for every error code of the routes it calls (from the OpenAPI document)', async () => {
    type Operation = {
      responses: Record<string, { content?: Record<string, { examples?: Record<string, unknown> }> }>;
    };
    const doc = await request<{ paths: Record<string, Record<string, Operation>> }>(api.url, 'GET', '/docs-json');
    const documented = new Set<string>();
    for (const route of CALLED_ROUTES) {
      const [method, at] = route.split(' ') as [string, string];
      const operation = doc.body.paths[at]?.[method.toLowerCase()];
      expect([route, operation !== undefined]).toEqual([route, true]);
      for (const [status, answer] of Object.entries(operation!.responses)) {
        if (Number(status) < 400) continue;
        for (const content of Object.values(answer.content ?? {})) {
          for (const code of Object.keys(content.examples ?? {})) documented.add(code);
        }
      }
    }
    expect(documented.size).toBeGreaterThan(20);
    const { page, errors } = await openTab();
    await page.goto(`${api.url}/shop/`);
    // Without ?sale= the page lists the sales (none yet in this suite).
    await page.waitForSelector('#catalog:visible');
    expect(await page.isVisible('#no-sales')).toBe(true);
    const known = await page.evaluate(
      () => (globalThis as unknown as { FlashShop: { messageCodes: string[] } }).FlashShop.messageCodes,
    );
    expect([...documented].filter((code) => !known.includes(code)).sort()).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('with a waiting room: one shopper goes from joining to AWAITING_PAYMENT in the page while others wait', async () => {
    // Six shoppers join the pre-queue; the page's shopper joins after the start, behind them all, and four
    // more behind it. maxActive 7: the six ahead are admitted and never buy, so once the page's shopper is
    // in, the four behind it wait (until the others' claims lapse, 60 s later).
    const startsAt = new Date(Date.now() + 12_000);
    const sale: SaleView = await createActiveSale(api.url, admin, {
      name: 'Room sale',
      stock: 20,
      startsAt: startsAt.toISOString(),
      waitingRoom: { admitPerSecond: 3, maxActive: 7, claimSeconds: 60 },
    });
    const [ahead, behind] = [await createUsers(api, db.url, 6), await createUsers(api, db.url, 4)];
    const account = { email: 'shop-room@example.com', password: 'shop-room-password-1' };
    const registered = await request(api.url, 'POST', '/auth/register', {
      body: { ...account, phone: '+14155550124', name: 'Room Shopper' },
    });
    expect(registered.status).toBe(201);
    const queue = (user: TestUser, method = 'GET') =>
      request<{ state: string; position: number | null }>(api.url, method, `/sales/${sale.id}/queue`, {
        token: user.token,
      });
    const admin$ = (action: 'pause' | 'resume') =>
      request(api.url, 'POST', `/admin/sales/${sale.id}/room/${action}`, { token: admin.token });

    // Paused, so that nobody is let in until the page's shopper and the four behind it have joined.
    expect((await admin$('pause')).status).toBe(200);
    for (const user of ahead) expect((await queue(user, 'POST')).body.state).toBe('prequeue');

    const { page, errors } = await openTab();
    // Every queue request of the page (join, polls): when the browser sent it, and the refresh time its
    // answer gave (the browser's own clock, so a loaded test process cannot blur the gaps).
    const polls: { at: number; method: string; refreshAfterSeconds: number }[] = [];
    page.on('response', (response) => {
      if (!response.url().endsWith(`/sales/${sale.id}/queue`)) return;
      const at = response.request().timing().startTime;
      const method = response.request().method();
      void response
        .json()
        .then((body: { refreshAfterSeconds: number }) => polls.push({ at, method, ...body }))
        .catch(() => undefined);
    });
    await page.goto(`${api.url}/shop/?sale=${sale.id}`);
    await page.waitForSelector('#countdown-label:has-text("Starts in")');
    expect(await page.isVisible('#room-note')).toBe(true);
    await page.fill('input[name=email]', account.email);
    await page.fill('input[name=password]', account.password);
    await page.click('#signin-submit');
    await page.waitForSelector('#join:visible');

    await page.waitForSelector('#countdown-label:has-text("Ends in")', { timeout: 20_000 });
    await page.click('#join');
    await page.waitForSelector('#queue[data-state="waiting"]');
    expect(await page.innerText('#queue-position')).toBe('7');
    expect(await page.innerText('#queue-wait')).toMatch(/\d/);
    for (const [i, user] of behind.entries())
      expect((await queue(user, 'POST')).body).toMatchObject({ state: 'waiting', position: 8 + i });
    await page.screenshot({ path: SCREENSHOT });

    expect((await admin$('resume')).status).toBe(200);
    await page.waitForSelector('#buy:visible', { timeout: 30_000 });
    expect(await page.getAttribute('#queue', 'data-state')).toBe('admitted');
    expect(await page.innerText('#admission-note')).toMatch(/Your turn holds for \d/);
    await page.click('#purchase');
    await orderStatus(page, 'AWAITING_PAYMENT');
    expect(await page.isVisible('#pay')).toBe(true);
    await page.screenshot({ path: path.join(OUTPUT, 'shop-order.png'), fullPage: true });

    // A second tab of the same shopper learns from the room that the admission was used, and shows the order.
    const login = await request<{ accessToken: string }>(api.url, 'POST', '/auth/login', { body: account });
    const second = await openTab();
    await second.page.addInitScript((token) => sessionStorage.setItem('shop.token', token), login.body.accessToken);
    await second.page.goto(`${api.url}/shop/?sale=${sale.id}`);
    await orderStatus(second.page, 'AWAITING_PAYMENT');
    expect(await second.page.getAttribute('#queue', 'data-state')).toBe('used');
    expect(second.errors).toEqual([]);
    await second.page.close();

    // The others: the six ahead admitted (none bought), the four behind still waiting, in order.
    for (const user of ahead) expect((await queue(user)).body.state).toBe('admitted');
    for (const [i, user] of behind.entries())
      expect((await queue(user)).body).toMatchObject({ state: 'waiting', position: i + 1 });
    expect(await statusCounts(db.url, sale.id)).toEqual({ AWAITING_PAYMENT: 1 });
    // The page never polled before the time it was given.
    polls.sort((a, b) => a.at - b.at);
    expect(polls.filter((p) => p.method === 'GET').length).toBeGreaterThan(1);
    for (let i = 1; i < polls.length; i++) {
      if (polls[i]!.method !== 'GET') continue;
      // Sent after the previous answer came back, plus its refresh time (less a timer's slack).
      const gap = polls[i]!.at - polls[i - 1]!.at;
      expect(gap).toBeGreaterThanOrEqual(polls[i - 1]!.refreshAfterSeconds * 1000 - 20);
    }
    expect(errors).toEqual([]);
    await page.close();
  });

  it('hands a join refused with a challenge to the solver registered by the anti-bot script, then leaves', async () => {
    const sale: SaleView = await createActiveSale(api.url, admin, {
      name: 'Guarded sale',
      startsAt: new Date(Date.now() + 10 * 60_000).toISOString(),
      waitingRoom: { admitPerSecond: 10, maxActive: 10, claimSeconds: 60 },
    });
    const [user] = await createUsers(api, db.url, 1);
    const { page, errors } = await openTab();
    await page.addInitScript((token) => sessionStorage.setItem('shop.token', token), user!.token);
    // Stands in for a room whose anti-bot mode asks for proof of work: a join without a solution is refused.
    const joins: Record<string, string>[] = [];
    await page.route(`**/sales/${sale.id}/queue`, async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const headers = route.request().headers();
      joins.push(headers);
      if (headers['x-test-solution'] === 'salt-1:solved') return route.continue();
      return route.fulfill({
        status: 403,
        contentType: 'application/json',
        body: JSON.stringify({
          statusCode: 403,
          code: 'CHALLENGE_REQUIRED',
          message: 'Solve the challenge first',
          challenge: { salt: 'salt-1' },
        }),
      });
    });
    await page.goto(`${api.url}/shop/?sale=${sale.id}`);
    await page.waitForSelector('#join:visible');

    // The page's own solver (static/shop/pow.js) is registered; this test puts a stand-in in its place.
    expect(await page.evaluate(() => typeof (globalThis as { FlashPow?: unknown }).FlashPow)).toBe('object');
    await page.evaluate(() =>
      (
        globalThis as unknown as {
          FlashShop: {
            useChallengeSolver(
              solve: (input: { refusal: { challenge: { salt: string } } }) => Promise<Record<string, string>>,
            ): void;
          };
        }
      ).FlashShop.useChallengeSolver(async ({ refusal }) => ({
        'x-test-solution': `${refusal.challenge.salt}:solved`,
      })),
    );
    await page.click('#join');
    await page.waitForSelector('#queue[data-state="prequeue"]');
    expect(joins).toHaveLength(2);
    expect(await page.innerText('#queue-position')).toBe('drawn at the start');
    expect(await page.isHidden('#problem')).toBe(true);

    await page.click('#leave');
    await page.waitForSelector('#queue[data-state="left"]');
    await page.waitForSelector('#join:visible');
    const place = await request<{ state: string }>(api.url, 'GET', `/sales/${sale.id}/queue`, { token: user!.token });
    expect(place.body.state).toBe('left');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('on a sale without a room: registers through the page, buys, follows the order and pays', async () => {
    const sale: SaleView = await createActiveSale(api.url, admin, { name: 'Direct sale', stock: 5 });
    const { page, errors } = await openTab();
    // How the page learns the order's status: its event stream, and plain reads of the order.
    const streams: number[] = [];
    const reads: string[] = [];
    page.on('response', (response) => {
      const url = new URL(response.url());
      if (/^\/orders\/[^/]+\/events$/.test(url.pathname)) streams.push(response.status());
      else if (/^\/orders\/[^/]+$/.test(url.pathname)) reads.push(url.pathname);
    });
    await page.goto(`${api.url}/shop/?sale=${sale.id}`);
    await page.waitForSelector('#sale-name:has-text("Direct sale")');
    expect(await page.isHidden('#queue')).toBe(true);

    // Register: a wrong phone first (the server's words are shown), then a good one.
    await page.click('#mode');
    await page.fill('input[name=email]', 'shop-direct@example.com');
    await page.fill('input[name=password]', 'shop-password-1');
    await page.fill('input[name=name]', 'Direct Shopper');
    await page.fill('input[name=phone]', '12');
    await page.click('#signin-submit');
    await page.waitForSelector('#problem[data-code="VALIDATION_FAILED"]');
    expect(await page.innerText('#problem')).toContain('phone');
    await page.fill('input[name=phone]', '+14155550123');
    await page.click('#signin-submit');
    await page.waitForSelector('#who:not([hidden])');
    expect(await page.innerText('#who-email')).toBe('shop-direct@example.com');

    await page.click('#purchase');
    await orderStatus(page, 'AWAITING_PAYMENT');
    expect(await page.isVisible('#pay')).toBe(true);
    expect(await page.innerText('#order-deadline')).toContain('Pay by');
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT, 'shop-direct.png'), fullPage: true });
    // Followed on the stream: one read for the details, one more for the payment deadline, no polling.
    expect(streams).toEqual([200]);
    expect(reads.length).toBeLessThanOrEqual(2);
    await page.click('#pay');
    await orderStatus(page, 'PAID');
    expect(await statusCounts(db.url, sale.id)).toEqual({ PAID: 1 });

    // A reload keeps the session and the order.
    await page.reload();
    await orderStatus(page, 'PAID');
    expect(errors).toEqual([]);
    await page.close();
  });
});
