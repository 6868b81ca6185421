import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ChallengeSigner } from '../src/bots/challenge.js';

/** Debian's chromium (scripts/prepare.sh installs it); never a browser downloaded by a package. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const STATIC = path.resolve(import.meta.dirname, '../static/shop');
const OWNER = { saleId: '6f1c2a3e-0000-4000-8000-000000000001', userId: '7a2b3c4d-0000-4000-8000-000000000002' };

type Scan = (salt: string, target: Int32Array, from: number, to: number) => { found: number | null; tries: number };

/**
 * The storefront's proof-of-work solver (static/shop/pow-worker.js and
 * pow.js) against the server's challenges: in Node (the worker's code in a
 * vm) and in headless Chromium (FlashPow in Web Workers, the challenge
 * fetched from a stand-in of the challenge route). The shop page joining a
 * real room with it: bots.e2e-spec.ts.
 */
describe('proof-of-work solver of the storefront', () => {
  const signer = new ChallengeSigner('solver-secret-solver-secret-solver-0123');

  describe('in Node', () => {
    let scan: Scan;
    let words: (hex: string) => Int32Array;

    beforeAll(() => {
      const ctx = vm.createContext({});
      vm.runInContext(readFileSync(path.join(STATIC, 'pow-worker.js'), 'utf8'), ctx);
      ({ scan, words } = ctx as unknown as { scan: Scan; words: (hex: string) => Int32Array });
    });

    it('finds the number node:crypto hashes, across changes of digit count and salt length', () => {
      for (const [from, n] of [
        [0, 0],
        [0, 9],
        [5, 10],
        [95, 100],
        [990, 1000],
        [99_990, 100_003],
      ] as const) {
        const salt = randomBytes(12).toString('base64url');
        const hash = createHash('sha256')
          .update(salt + n)
          .digest('hex');
        expect(scan(salt, words(hash), from, n + 5)).toEqual({ found: n, tries: n - from + 1 });
      }
      for (const salt of ['', 'a', 'abcde', 'x'.repeat(30)]) {
        const hash = createHash('sha256').update(`${salt}1234`).digest('hex');
        expect(scan(salt, words(hash), 0, 2000).found).toBe(1234);
      }
    });

    it('says so when its range does not hold the number', () => {
      const c = signer.issue(OWNER, { baseWork: 1000, tier: 0, ttlMs: 60_000 });
      const found = scan(c.salt, words(c.hash), 0, c.maxNumber).found!;
      expect(scan(c.salt, words(c.hash), found + 1, found + 50)).toEqual({ found: null, tries: 50 });
    });

    it('solves a server challenge the server then accepts', () => {
      const c = signer.issue(OWNER, { baseWork: 20_000, tier: 0, ttlMs: 60_000 });
      const { found } = scan(c.salt, words(c.hash), 0, c.maxNumber);
      expect(signer.check(`${c.challenge}:${found}`, OWNER).ok).toBe(true);
    });
  });

  describe('in headless Chromium (Web Workers)', () => {
    let server: Server;
    let base: string;
    let profile: string;
    let browser: BrowserContext;
    let page: Page;
    let issued = 0;

    beforeAll(async () => {
      server = createServer((req, res) => {
        const url = req.url ?? '';
        if (url === '/') {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end('<!doctype html><meta charset="utf-8"><title>solver</title><script src="/shop/pow.js"></script>');
          return;
        }
        if (url === `/sales/${OWNER.saleId}/queue/challenge`) {
          issued++;
          const ok = req.headers.authorization === 'Bearer t0ken' && typeof req.headers['device-id'] === 'string';
          res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
          const c = signer.issue(OWNER, { baseWork: 50_000, tier: 0, ttlMs: 600_000 });
          res.end(JSON.stringify(ok ? { required: true, ...c } : { code: 'UNAUTHORIZED' }));
          return;
        }
        const name = /^\/shop\/(pow(?:-worker)?\.js)$/.exec(url)?.[1];
        if (!name) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(readFileSync(path.join(STATIC, name)));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      profile = mkdtempSync(path.join(tmpdir(), 'fs-chromium-'));
      browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      });
      page = browser.pages()[0] ?? (await browser.newPage());
      await page.goto(base);
    });

    afterAll(async () => {
      await browser?.close();
      rmSync(profile, { recursive: true, force: true });
      await new Promise((resolve) => server.close(resolve));
    });

    it('FlashPow.solve finds the number in workers, one or several', async () => {
      for (const workers of [1, 3]) {
        const c = signer.issue(OWNER, { baseWork: 30_000, tier: 0, ttlMs: 60_000 });
        const solved = await page.evaluate(
          ([challenge, n]) =>
            (
              globalThis as unknown as { FlashPow: { solve: (c: unknown, o: unknown) => Promise<{ number: number }> } }
            ).FlashPow.solve(challenge, { workers: n }),
          [c, workers] as const,
        );
        expect(signer.check(`${c.challenge}:${solved.number}`, OWNER).ok).toBe(true);
      }
    });

    it('FlashPow.prepare fetches the challenge and hands over Join-Proof and a stable Device-Id', async () => {
      const prepare = () =>
        page.evaluate(
          (saleId) =>
            (
              globalThis as unknown as {
                FlashPow: { prepare: (s: string, t: string) => Promise<Record<string, string>> };
              }
            ).FlashPow.prepare(saleId, 't0ken'),
          OWNER.saleId,
        );
      const first = await prepare();
      expect(signer.check(first['Join-Proof']!, OWNER).ok).toBe(true);
      const second = await prepare();
      // a proof is good for one join: the second prepare solved a new challenge
      expect(second['Join-Proof']).not.toBe(first['Join-Proof']);
      expect(signer.check(second['Join-Proof']!, OWNER).ok).toBe(true);
      expect(second['Device-Id']).toBe(first['Device-Id']);
      expect(first['Device-Id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(issued).toBe(2);
    });
  });
});
