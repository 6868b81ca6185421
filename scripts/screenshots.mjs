// The screenshots of docs/operating.md, from a running system (e.g. during `npm run demo`):
//   node scripts/screenshots.mjs --email <admin> --password <password> [--url http://localhost:3000] [--wait 12]
// Signs in to the live view in headless Chromium (Debian's, or CHROMIUM_PATH),
// waits --wait seconds, and writes docs/img/live-view.png, docs.png and docs-purchase.png.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://localhost:3000' },
    email: { type: 'string' },
    password: { type: 'string' },
    wait: { type: 'string', default: '12' },
    out: { type: 'string', default: 'docs/img' },
  },
});
if (!values.email || !values.password) throw new Error('--email and --password of an admin are needed');
mkdirSync(values.out, { recursive: true });
const profile = mkdtempSync(path.join(tmpdir(), 'fs-shots-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 860 },
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(`${values.url}/admin/live`);
  await page.fill('input[name=email]', values.email);
  await page.fill('input[name=password]', values.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('section[data-sale]', { timeout: 30_000 });
  await page.waitForTimeout(Number(values.wait) * 1000);
  await page.screenshot({ path: path.join(values.out, 'live-view.png'), fullPage: true });

  await page.goto(`${values.url}/docs`);
  await page.waitForSelector('.opblock-tag');
  await page.screenshot({ path: path.join(values.out, 'docs.png') });
  const buy = page.locator('#operations-orders-PurchaseController_purchase');
  await buy.locator('.opblock-summary').click();
  await buy.locator('.responses-table').first().waitFor();
  await buy.screenshot({ path: path.join(values.out, 'docs-purchase.png') });
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
