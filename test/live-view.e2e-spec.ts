import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import type { Page } from 'playwright-core';
import type { SaleView } from '../src/sales/sale-view.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { buy, createActiveSale, query } from './support/buy.js';
import { clearRedis, createTestDatabase, testConfig, type TestDatabase } from './support/env.js';
import { request, startApi, type RunningApi } from './support/http.js';
import { ROOT } from './support/processes.js';
import { createUsers, type TestUser } from './support/users.js';
import { startWorker } from './support/worker.js';

/** Screenshots land here (git-ignored). */
export const OUTPUT = path.join(ROOT, 'test-output');

const ADMIN = { email: 'live-admin@example.com', password: 'live-view-password-1' };
const STOCK = 60;

describe('the live sale view in headless Chromium', () => {
  let db: TestDatabase;
  let api: RunningApi;
  let worker: INestApplicationContext;
  let config: ReturnType<typeof testConfig>;
  let browser: TestBrowser;
  let page: Page;
  let shoppers: TestUser[];
  let sale: SaleView;

  beforeAll(async () => {
    db = await createTestDatabase('live');
    config = testConfig(db.url, { SMTP_URL: 'smtp://127.0.0.1:1' });
    api = await startApi(config);
    worker = await startWorker(config);
    // A real admin account: the browser signs in with its password through the page.
    const registered = await request(api.url, 'POST', '/auth/register', {
      body: { ...ADMIN, phone: '+14155550199', name: 'Live admin' },
    });
    expect(registered.status).toBe(201);
    await query(db.url, `UPDATE users SET role = 'ADMIN' WHERE email = $1`, [ADMIN.email]);
    const [admin] = await createUsers(api, db.url, 1, 'ADMIN');
    shoppers = await createUsers(api, db.url, 150);
    sale = await createActiveSale(api.url, admin!, { name: 'Live view spike', stock: STOCK });

    mkdirSync(OUTPUT, { recursive: true });
    browser = await launchBrowser({ width: 1280, height: 900 });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
  });

  afterAll(async () => {
    await browser?.close();
    await api.close();
    await worker.close();
    await clearRedis(config);
    await db.drop();
  });

  const figure = (name: string): Promise<number> =>
    page
      .locator(`section[data-sale="${sale.id}"] [data-figure="${name}"] .value`)
      .innerText()
      .then((text) => Number(text.replace(/[^\d.]/g, '')));

  it('asks for sign-in, then shows the numbers moving during a spike', async () => {
    const first = await page.goto(`${api.url}/admin/live`);
    expect(first?.status()).toBe(401);
    await page.fill('input[name=email]', ADMIN.email);
    await page.fill('input[name=password]', ADMIN.password);
    await page.click('button[type=submit]');
    await page.waitForSelector(`section[data-sale="${sale.id}"]`, { timeout: 15_000 });
    await page.waitForSelector('#connection.ok');
    expect(await figure('remaining')).toBe(STOCK);
    expect(await figure('admitted')).toBe(0);

    // A small spike: 150 shoppers over about three seconds for 60 units.
    const answers: number[] = [];
    for (let i = 0; i < shoppers.length; i += 15) {
      const wave = shoppers.slice(i, i + 15).map(async (s) => answers.push((await buy(api.url, s, sale.id)).status));
      await Promise.all([...wave, new Promise((r) => setTimeout(r, 300))]);
    }
    expect(answers.filter((s) => s === 202)).toHaveLength(STOCK);

    // The page follows: stock left reaches 0, admitted the stock, and the orders are drained.
    await page.waitForFunction(
      (id) =>
        document.querySelector(`section[data-sale="${id}"] [data-figure="remaining"] .value`)?.textContent === '0',
      sale.id,
      { timeout: 15_000 },
    );
    expect(await figure('admitted')).toBe(STOCK);
    await page.waitForFunction(
      (args) =>
        document.querySelector(`section[data-sale="${args.id}"] [data-figure="orders-AWAITING_PAYMENT"] .value`)
          ?.textContent === String(args.stock),
      { id: sale.id, stock: STOCK },
      { timeout: 20_000 },
    );
    expect(await figure('refusals-SOLD_OUT')).toBeGreaterThanOrEqual(0);
    // Each figure has its sparkline, with a point per sample seen.
    const points = await page
      .locator(`section[data-sale="${sale.id}"] [data-figure="remaining"] svg polyline`)
      .getAttribute('points');
    expect(points!.split(' ').length).toBeGreaterThan(3);
    expect(await page.locator(`section[data-sale="${sale.id}"] .figure svg`).count()).toBeGreaterThanOrEqual(6 + 5 + 6);

    await page.screenshot({ path: path.join(OUTPUT, 'live-view.png'), fullPage: true });
  });

  it('renders the API docs page', async () => {
    await page.goto(`${api.url}/docs`);
    await page.waitForSelector('.opblock-tag', { timeout: 15_000 });
    expect(await page.locator('.opblock').count()).toBeGreaterThan(30);
    await page.screenshot({ path: path.join(OUTPUT, 'docs.png') });
    const buyOperation = page.locator('#operations-orders-PurchaseController_purchase');
    await buyOperation.locator('.opblock-summary').click();
    await buyOperation.locator('.responses-table').first().waitFor();
    expect(await buyOperation.innerText()).toContain('SOLD_OUT');
    await buyOperation.screenshot({ path: path.join(OUTPUT, 'docs-purchase.png') });
  });
});
