// The storefront's side of the anti-bot challenge (issue 22): fetches the
// challenge of a sale's waiting room, solves it in Web Workers
// (/shop/pow-worker.js) while the page shows the countdown, and hands the
// page the headers of its join (Join-Proof, Device-Id).
//
// API (globalThis.FlashPow):
//   prepare(saleId, token) -> Promise<headers>: starts (or reuses) the solve of
//     this shopper's challenge; resolves to { 'Join-Proof', 'Device-Id' }, or
//     { 'Device-Id' } alone when the sale asks for none.
//   renew(saleId, token) -> Promise<headers>: drops what was prepared (a join
//     refused it: expired, used, or a harder one is needed) and starts again.
//   solve(challenge) -> Promise<{ number, tries, ms }>: the solver alone.
//   deviceId() -> the id this browser keeps for the Device-Id header.
// When the shop page (shop.js) is loaded first, this script registers itself
// with FlashShop.useChallengeSolver, and starts solving as soon as a shopper
// is signed in on a sale's page.
/* global performance, navigator, localStorage, clearInterval */
'use strict';

(function () {
  const WORKER = '/shop/pow-worker.js';
  /** A challenge with less time left than this is fetched anew before a join. */
  const MARGIN_MS = 30_000;
  const prepared = new Map();

  function deviceId() {
    try {
      let id = localStorage.getItem('shop.device');
      if (!id) {
        id = crypto.randomUUID();
        localStorage.setItem('shop.device', id);
      }
      return id;
    } catch {
      return 'no-storage';
    }
  }

  function workerCount() {
    const cores = (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 1;
    return Math.max(1, Math.min(4, cores));
  }

  /** Splits [0, maxNumber] over the workers; the first to find the number wins, the others stop. */
  function solve(challenge, options) {
    const started = performance.now();
    const count = (options && options.workers) || workerCount();
    const span = Math.ceil((challenge.maxNumber + 1) / count);
    return new Promise((resolve, reject) => {
      const workers = [];
      let left = count;
      let tries = 0;
      const stop = () => workers.forEach((w) => w.terminate());
      for (let i = 0; i < count; i++) {
        const worker = new Worker(WORKER);
        workers.push(worker);
        worker.onmessage = (event) => {
          tries += event.data.tries;
          left--;
          if (event.data.found !== null) {
            stop();
            resolve({ number: event.data.found, tries, ms: Math.round(performance.now() - started) });
          } else if (left === 0) {
            stop();
            reject(new Error('challenge has no solution'));
          }
        };
        worker.onerror = (err) => {
          stop();
          reject(err instanceof Error ? err : new Error('solver failed'));
        };
        const from = i * span;
        worker.postMessage({
          salt: challenge.salt,
          hash: challenge.hash,
          from,
          to: Math.min(challenge.maxNumber, from + span - 1),
        });
      }
    });
  }

  async function fetchChallenge(saleId, token) {
    const res = await fetch(`/sales/${encodeURIComponent(saleId)}/queue/challenge`, {
      headers: { authorization: `Bearer ${token}`, 'device-id': deviceId() },
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = new Error(body.message || `challenge: HTTP ${res.status}`);
      err.code = body.code;
      err.retryAfter = Number(res.headers.get('retry-after')) || null;
      throw err;
    }
    return body;
  }

  async function work(saleId, token) {
    const challenge = await fetchChallenge(saleId, token);
    if (!challenge.required) return { headers: { 'Device-Id': deviceId() }, expiresAt: Infinity };
    const solved = await solve(challenge);
    return {
      headers: { 'Join-Proof': `${challenge.challenge}:${solved.number}`, 'Device-Id': deviceId() },
      expiresAt: new Date(challenge.expiresAt).getTime(),
      solved,
    };
  }

  function start(saleId, token) {
    const key = `${saleId} ${token}`;
    const job = work(saleId, token);
    prepared.set(key, job);
    job.catch(() => prepared.delete(key));
    return job;
  }

  async function prepare(saleId, token) {
    const key = `${saleId} ${token}`;
    let job = prepared.get(key) || start(saleId, token);
    let done = await job;
    if (done.expiresAt - Date.now() < MARGIN_MS) done = await start(saleId, token);
    prepared.delete(key); // a proof is good for one join
    return done.headers;
  }

  function renew(saleId, token) {
    prepared.delete(`${saleId} ${token}`);
    return prepare(saleId, token);
  }

  globalThis.FlashPow = { prepare, renew, solve, deviceId, last: null };

  const shop = globalThis.FlashShop;
  if (!shop || typeof shop.useChallengeSolver !== 'function') return;
  const note = (headers) => {
    globalThis.FlashPow.last = headers;
    return headers;
  };
  shop.useChallengeSolver(
    // a join was refused for its proof: a fresh challenge (null gives up and shows the refusal)
    ({ saleId, token }) => renew(saleId, token).then(note, () => null),
    { beforeJoin: ({ saleId, token }) => prepare(saleId, token).then(note, () => ({ 'Device-Id': deviceId() })) },
  );
  // Start solving while the countdown runs: as soon as a shopper is signed in on a sale's page.
  if (!shop.saleId) return;
  const early = setInterval(() => {
    const token = sessionStorage.getItem('shop.token');
    if (!token) return;
    clearInterval(early);
    start(shop.saleId, token).catch(() => undefined);
  }, 1000);
})();
