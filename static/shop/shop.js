// The shopper's page (/shop/?sale=<id>): sign in (or register), see the sale
// and a countdown to its start, join its waiting room, wait with a position
// and an estimate (polling no sooner than the room's refreshAfterSeconds),
// buy with the admission once admitted, and follow the order until it awaits
// payment, then pay. Plain JS, no build step, every request to this origin.
// The token stays in this tab (sessionStorage).
'use strict';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const saleId = params.get('sale');

const state = {
  token: sessionStorage.getItem('shop.token'),
  email: sessionStorage.getItem('shop.email'),
  registering: false,
  /** The sale (GET /sales/:id) and the server's clock minus ours (ms), for the countdown. */
  sale: null,
  offset: 0,
  /** The last queue answer, its Queue-Token (a poll before refreshAfterSeconds is answered from it) and the next poll. */
  queue: null,
  queueToken: null,
  pollTimer: null,
  /** The purchase in flight; its Idempotency-Key, one per admission, so a retried click cannot buy twice. */
  buying: false,
  purchaseKey: null,
  purchaseFor: null,
  /** The payment's Idempotency-Key: a retried payment charges once. */
  payKey: null,
  /** The order being followed, and how. */
  orderId: saleId ? sessionStorage.getItem(`shop.order.${saleId}`) : null,
  order: null,
  following: null,
};

const now = () => Date.now() + state.offset;

// ---- Messages ---------------------------------------------------------------
// Every stable code of the room, the purchase and the order routes, in the
// shopper's words. `{s}` is the wait the server asked for (Retry-After).
const MESSAGES = {
  NETWORK: 'The shop cannot be reached. Check your connection; the page keeps trying.',
  UNAUTHORIZED: 'Your session ended: please sign in again.',
  FORBIDDEN: 'You are not allowed to do that.',
  INVALID_CREDENTIALS: 'That email and password do not match an account.',
  EMAIL_TAKEN: 'An account with this email exists already: sign in instead.',
  VALIDATION_FAILED: 'Please check what you typed.',
  MALFORMED_BODY: 'The page sent something the shop could not read. Reload the page.',
  RATE_LIMITED: 'Too many tries in a short time: wait {s} s, then try again.',
  SALE_NOT_FOUND: 'This sale does not exist.',
  NO_WAITING_ROOM: 'This sale has no waiting room: you can buy directly.',
  QUEUE_CLOSED: 'The queue is closed: the sale sold out or ended.',
  QUEUE_FULL: 'The queue is full right now. The page tries again in {s} s.',
  CHALLENGE_REQUIRED: 'This sale asks your browser to solve a quick check before joining.',
  CHALLENGE_MALFORMED: 'The check your browser sent was damaged. Try joining again.',
  CHALLENGE_INVALID: 'The check your browser solved does not fit this sale or account. Try joining again.',
  CHALLENGE_EXPIRED: 'The check your browser solved has expired. Try joining again.',
  CHALLENGE_USED: 'The check your browser solved was used already. Try joining again.',
  CHALLENGE_STALE: 'This join needs a new check. Try joining again.',
  JOIN_REFUSED:
    'This account cannot join this sale from here (too many accounts from this address, network or device).',
  QUEUE_NOT_OPEN: 'The queue is not open yet: it opens shortly before the sale starts. The page tries again in {s} s.',
  UNAVAILABLE: 'The shop is briefly unavailable; your place is kept. The page tries again in {s} s.',
  ADMISSION_REQUIRED: 'This sale sells only to shoppers whose turn has come: join the queue first.',
  ADMISSION_INVALID: 'Your turn has expired (or is not valid for this sale): join the queue again.',
  ADMISSION_USED: 'Your turn was used for an order already: see your order below.',
  SOLD_OUT: 'Sold out. Sorry!',
  LIMIT_EXCEEDED: 'You already bought as many as one shopper may.',
  SALE_NOT_ACTIVE: 'The sale is not open right now.',
  BUSY: 'The shop is very busy: try again in {s} s (your turn holds until it expires).',
  GATE_NOT_READY: 'The sale is being prepared: try again in {s} s.',
  OUTCOME_UNKNOWN: 'We could not confirm your purchase in time: looking up your order…',
  ORDER_NOT_FOUND: 'This order was not found.',
  ORDER_NOT_PAYABLE:
    'This order cannot be paid now: it is still being saved, was cancelled, or its payment time ran out.',
  ORDER_NOT_CANCELLABLE: 'This order cannot be cancelled any more.',
  PAYMENT_DECLINED: 'The payment was declined. You can try again before the deadline.',
  PAYMENT_UNAVAILABLE: 'The payment service did not answer: try again in a moment.',
  TOO_MANY_STREAMS: 'Too many open pages follow orders: this one checks every few seconds instead.',
  STREAMS_BUSY: 'Live updates are busy: this page checks every few seconds instead.',
  PAYLOAD_TOO_LARGE: 'That is too long.',
  UNSUPPORTED_MEDIA_TYPE: 'The page sent something the shop could not read. Reload the page.',
  INTERNAL_ERROR: 'Something went wrong on our side. Please try again.',
};

/** The shopper's text for a refusal: ours for a known code, else the server's own message. */
function describe(answer) {
  const body = answer.body || {};
  const wait = String(answer.retryAfter ?? 5);
  let text = (MESSAGES[body.code] || body.message || `The shop answered ${answer.status}.`).replace('{s}', wait);
  if (body.code === 'VALIDATION_FAILED' && Array.isArray(body.details) && body.details.length) {
    text += ' ' + body.details.map((d) => `${d.field}: ${d.problem}`).join('; ') + '.';
  }
  return text;
}

function showProblem(answerOrText) {
  const p = $('problem');
  p.textContent = typeof answerOrText === 'string' ? answerOrText : describe(answerOrText);
  p.dataset.code = typeof answerOrText === 'string' ? '' : answerOrText.body?.code || '';
  p.hidden = false;
}

function clearProblem() {
  $('problem').hidden = true;
  $('problem').textContent = '';
  $('problem').dataset.code = '';
}

function notify(text) {
  $('notice').textContent = text;
}

// ---- HTTP -------------------------------------------------------------------
/** One request to the API: { ok, status, body, retryAfter } (status 0 and code NETWORK when unreachable). */
async function api(method, path, { body, headers = {} } = {}) {
  const sent = { accept: 'application/json', ...headers };
  if (state.token) sent.authorization = `Bearer ${state.token}`;
  if (body !== undefined) sent['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    return { ok: false, status: 0, body: { code: 'NETWORK' }, retryAfter: 5 };
  }
  let data = {};
  try {
    data = await res.json();
  } catch {
    // an empty or non-JSON body
  }
  const retryAfter = Number(res.headers.get('retry-after')) || null;
  if (res.status === 401 && state.token) signOut(MESSAGES.UNAUTHORIZED);
  return { ok: res.ok, status: res.status, body: data, retryAfter };
}

function newKey() {
  return crypto.randomUUID();
}

// ---- Account ----------------------------------------------------------------
function showAccount() {
  const signedIn = Boolean(state.token);
  $('account').hidden = signedIn;
  $('who').hidden = !signedIn;
  $('who-email').textContent = state.email || '';
}

function setMode(registering) {
  state.registering = registering;
  $('register-fields').hidden = !registering;
  $('mode').setAttribute('aria-expanded', String(registering));
  $('mode').textContent = registering ? 'I have an account: sign in' : 'New here? Create an account';
  $('signin-submit').textContent = registering ? 'Create account and sign in' : 'Sign in';
  $('account-title').textContent = registering ? 'Create an account' : 'Sign in to shop';
  const password = document.querySelector('#signin input[name=password]');
  password.autocomplete = registering ? 'new-password' : 'current-password';
}

async function submitAccount(event) {
  event.preventDefault();
  clearProblem();
  const form = new FormData($('signin'));
  const email = String(form.get('email') || '').trim();
  const password = String(form.get('password') || '');
  const button = $('signin-submit');
  button.disabled = true;
  try {
    if (state.registering) {
      const body = { email, password, phone: String(form.get('phone') || '').replace(/\s+/g, '') };
      const name = String(form.get('name') || '').trim();
      if (name) body.name = name;
      const registered = await api('POST', '/auth/register', { body });
      if (!registered.ok) return showProblem(registered);
    }
    const login = await api('POST', '/auth/login', { body: { email, password } });
    if (!login.ok) return showProblem(login);
    state.token = login.body.accessToken;
    state.email = email;
    sessionStorage.setItem('shop.token', state.token);
    sessionStorage.setItem('shop.email', email);
    $('signin').reset();
    setMode(false);
    showAccount();
    notify(`Signed in as ${email}.`);
    await afterSignIn();
  } finally {
    button.disabled = false;
  }
}

function signOut(message) {
  state.token = null;
  state.email = null;
  sessionStorage.removeItem('shop.token');
  sessionStorage.removeItem('shop.email');
  stopPolling();
  stopFollowing();
  // The next account starts afresh on this sale.
  if (saleId) sessionStorage.removeItem(`shop.order.${saleId}`);
  Object.assign(state, { orderId: null, order: null, queue: null, queueToken: null, purchaseKey: null, payKey: null });
  showAccount();
  for (const id of ['queue', 'buy', 'order']) $(id).hidden = true;
  if (message) showProblem(message);
  else notify('Signed out.');
}

// ---- The sale and its countdown ---------------------------------------------
const money = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD' });
const hasRoom = () => Boolean(state.sale && state.sale.waitingRoom);

async function loadCatalog() {
  const answer = await api('GET', '/sales');
  if (!answer.ok) return showProblem(answer);
  const list = $('sales');
  list.replaceChildren();
  for (const sale of answer.body.items) {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = `/shop/?sale=${encodeURIComponent(sale.id)}`;
    link.textContent = sale.name;
    item.append(link, ` · ${money.format(sale.price / 100)} · starts ${new Date(sale.startsAt).toLocaleString()}`);
    if (sale.waitingRoom) item.append(' · waiting room');
    list.append(item);
  }
  $('no-sales').hidden = answer.body.items.length > 0;
  $('catalog').hidden = false;
}

async function loadSale() {
  const sentAt = Date.now();
  const answer = await api('GET', `/sales/${encodeURIComponent(saleId)}`);
  if (!answer.ok) {
    showProblem(answer);
    return false;
  }
  // The server's clock at the middle of the round trip.
  state.offset = new Date(answer.body.serverTime).getTime() - (sentAt + Date.now()) / 2;
  state.sale = answer.body;
  renderSale();
  return true;
}

function renderSale() {
  const sale = state.sale;
  document.title = `${sale.name} · flash-sale shop`;
  $('sale').hidden = false;
  $('sale-name').textContent = sale.name;
  $('sale-price').textContent = money.format(sale.price / 100);
  $('sale-remaining').textContent = `${sale.remaining} of ${sale.stock}`;
  $('sale-limit').textContent = `${sale.perUserLimit} per shopper`;
  $('room-note').hidden = !hasRoom();
  tick();
}

function duration(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** Once a second: the countdown, the sale's phase by the server's clock, the admission's time left. */
function tick() {
  const sale = state.sale;
  if (!sale) return;
  const t = now();
  const starts = new Date(sale.startsAt).getTime();
  const ends = new Date(sale.endsAt).getTime();
  let label;
  let left;
  let status = sale.status;
  if (t < starts) {
    label = 'Starts in';
    left = starts - t;
  } else if (t < ends && status !== 'SOLD_OUT' && status !== 'ENDED') {
    label = 'Ends in';
    left = ends - t;
    if (status === 'UPCOMING') status = 'ACTIVE';
  } else {
    label = status === 'SOLD_OUT' ? 'Sold out' : 'Ended';
    left = null;
    if (status !== 'SOLD_OUT') status = 'ENDED';
  }
  $('countdown-label').textContent = label;
  $('countdown').textContent = left === null ? '' : duration(left);
  $('countdown').dateTime = left === null ? '' : `PT${Math.ceil(left / 1000)}S`;
  $('sale-status').textContent = { UPCOMING: 'Coming up', ACTIVE: 'On sale', SOLD_OUT: 'Sold out', ENDED: 'Ended' }[
    status
  ];
  $('sale').dataset.status = status;
  if (!hasRoom() && state.token && !state.orderId) {
    // No waiting room: buy directly once the sale is on.
    $('buy').hidden = status !== 'ACTIVE';
    $('buy-title').textContent = 'Buy';
    $('admission-note').textContent = 'This sale has no waiting room.';
  }
  const admission = state.queue?.admission;
  if (admission && !$('buy').hidden) {
    const leftMs = new Date(admission.expiresAt).getTime() - t;
    if (leftMs <= 0) {
      $('buy').hidden = true;
      state.queue = null;
      showProblem(MESSAGES.ADMISSION_INVALID);
      schedulePoll(0);
    } else {
      $('admission-note').textContent = `Your turn holds for ${duration(leftMs)}. Buy before it runs out.`;
    }
  }
}

// ---- The waiting room ---------------------------------------------------------
const QUEUE_TEXT = {
  prequeue: () =>
    'You are in the pre-queue. At the start everyone in it gets a random place, so arriving early gives no advantage: keep this page open.',
  waiting: (q) => `You are number ${q.position} in line.`,
  admitted: () => 'It is your turn: buy now.',
  used: () => 'Your turn was used for an order.',
  sold_out: () =>
    'Sold out for now. Units that come back (cancelled or unpaid orders) go to those still waiting, in queue order: you keep your place while the sale lasts.',
  closed: () => 'The queue is closed: the sale ended or sold out.',
  full: () => 'The queue is full right now. The page tries again shortly.',
  not_open: () => 'The queue is not open yet: it opens shortly before the sale starts.',
  left: () => 'You are not in the queue.',
  expired: () => 'Your turn ran out before you bought: join the queue again.',
};
/** States in which the shopper holds a place and the page keeps polling. */
const HOLDING = new Set(['prequeue', 'waiting', 'sold_out']);

function stopPolling() {
  clearTimeout(state.pollTimer);
  state.pollTimer = null;
}

function schedulePoll(seconds) {
  stopPolling();
  state.pollTimer = setTimeout(() => void poll(), Math.max(0, seconds) * 1000);
}

function queueHeaders() {
  return state.queueToken ? { 'queue-token': state.queueToken } : {};
}

async function poll() {
  state.pollTimer = null;
  if (!state.token) return;
  const answer = await api('GET', `/sales/${encodeURIComponent(saleId)}/queue`, { headers: queueHeaders() });
  onQueueAnswer(answer, { polling: true });
}

function onQueueAnswer(answer, { polling = false, joining = false } = {}) {
  if (!answer.ok) {
    if (answer.status === 401) return;
    const code = answer.body.code;
    showProblem(answer);
    if (['UNAVAILABLE', 'QUEUE_FULL', 'NETWORK', 'RATE_LIMITED', 'BUSY'].includes(code)) {
      // Try again when told; a poll keeps the place the shopper holds.
      const again = answer.retryAfter ?? 5;
      state.pollTimer = setTimeout(() => void (polling ? poll() : join()), again * 1000);
    } else if (joining && code === 'QUEUE_NOT_OPEN') {
      // Join again when the pre-queue opens (spread over a few seconds, so the crowd does not come at once).
      const opens = Date.parse(state.sale.waitingRoom?.prequeueOpensAt ?? '') - now();
      const known = Number.isFinite(opens) && opens > 0;
      if (known)
        showProblem(`The queue opens at ${new Date(Date.now() + opens).toLocaleTimeString()}: the page joins then.`);
      state.pollTimer = setTimeout(() => void join(), known ? opens + Math.random() * 3000 : 5000);
    } else if (code === 'NO_WAITING_ROOM') {
      state.sale.waitingRoom = null;
      $('queue').hidden = true;
      tick();
    }
    renderQueue(code === 'QUEUE_CLOSED' ? { state: 'closed' } : state.queue);
    return;
  }
  clearProblem();
  const q = answer.body;
  state.queue = q;
  state.queueToken = q.queueToken || null;
  renderQueue(q);
  if (HOLDING.has(q.state) || q.state === 'admitted') schedulePoll(Math.max(1, q.refreshAfterSeconds));
  // Bought from another tab (or this one before a reload lost the order): show that order.
  if (q.state === 'used' && !state.orderId) void findMyOrder();
}

function renderQueue(q) {
  const section = $('queue');
  section.hidden = !hasRoom() || !state.token;
  const current = q ? q.state : 'left';
  section.dataset.state = current;
  $('queue-message').textContent = (QUEUE_TEXT[current] || (() => `State: ${current}.`))(q || {});
  const waiting = current === 'waiting' || current === 'prequeue' || current === 'sold_out';
  $('queue-figures').hidden = !waiting;
  if (waiting) {
    $('queue-position').textContent =
      q.position === null || q.position === undefined ? 'drawn at the start' : `${q.position}`;
    const { low, high } = q.estimatedWaitSeconds || { low: 0, high: 0 };
    $('queue-wait').textContent =
      current === 'sold_out'
        ? '—'
        : low === high
          ? `about ${duration(low * 1000)}`
          : `${duration(low * 1000)} to ${duration(high * 1000)}`;
    $('queue-length').textContent = q.queueLength === undefined ? '—' : `${q.queueLength}`;
  }
  $('queue-refresh').textContent =
    HOLDING.has(current) && q.refreshAfterSeconds
      ? `Updated ${new Date().toLocaleTimeString()}; next update in ${q.refreshAfterSeconds} s.`
      : '';
  const canJoin = !HOLDING.has(current) && current !== 'admitted' && current !== 'used' && current !== 'closed';
  $('join').hidden = !canJoin || Boolean(state.orderId);
  $('leave').hidden = !(HOLDING.has(current) || current === 'admitted');
  $('buy').hidden = current !== 'admitted' || Boolean(state.orderId);
  $('buy-title').textContent = 'It is your turn';
  if (current === 'admitted') tick();
}

// ---- Anti-bot hook (issue 22) -------------------------------------------------
// A room that asks for proof of work refuses a join with a challenge. A solver
// (static/shop/pow-worker.js, loaded by a script the anti-bot work adds next to
// this one) registers itself with FlashShop.useChallengeSolver(solve), where
// solve({ saleId, token, refusal }) resolves to the headers that carry the
// solution (or null to give up); the join is then sent again with them. A
// solver may also start during the countdown: FlashShop.useChallengeSolver
// takes { beforeJoin } too, whose headers go with the first join.
const hooks = { solve: null, beforeJoin: null };

function needsChallenge(answer) {
  const body = answer.body || {};
  return !answer.ok && (body.challenge !== undefined || /CHALLENGE/.test(body.code || ''));
}

async function join() {
  state.pollTimer = null;
  clearProblem();
  $('join').disabled = true;
  try {
    const path = `/sales/${encodeURIComponent(saleId)}/queue`;
    const early = hooks.beforeJoin ? await hooks.beforeJoin({ saleId, token: state.token }) : null;
    let answer = await api('POST', path, { headers: early || {} });
    if (needsChallenge(answer)) {
      if (!hooks.solve) {
        showProblem('This sale asks your browser to solve a check before joining, and this page cannot do it yet.');
        return;
      }
      notify('Checking your browser before you join…');
      const headers = await hooks.solve({ saleId, token: state.token, refusal: answer.body });
      if (!headers) return showProblem(answer);
      answer = await api('POST', path, { headers });
    }
    onQueueAnswer(answer, { joining: true });
    if (answer.ok) notify(answer.body.state === 'admitted' ? 'It is your turn.' : 'You joined the queue.');
  } finally {
    $('join').disabled = false;
  }
}

async function leave() {
  stopPolling();
  const answer = await api('DELETE', `/sales/${encodeURIComponent(saleId)}/queue`);
  if (!answer.ok) return showProblem(answer);
  state.queue = answer.body;
  state.queueToken = null;
  renderQueue(answer.body);
  notify('You left the queue.');
}

// ---- Buying -------------------------------------------------------------------
async function purchase() {
  if (state.buying) return;
  clearProblem();
  state.buying = true;
  $('purchase').disabled = true;
  try {
    const admission = state.queue?.admission;
    if (!state.purchaseKey || state.purchaseFor !== (admission?.token ?? null)) {
      state.purchaseKey = newKey();
      state.purchaseFor = admission?.token ?? null;
    }
    const headers = { 'idempotency-key': state.purchaseKey };
    if (hasRoom()) {
      if (!admission) return showProblem(MESSAGES.ADMISSION_REQUIRED);
      headers['admission-token'] = admission.token;
    }
    const answer = await api('POST', `/sales/${encodeURIComponent(saleId)}/orders`, { body: { quantity: 1 }, headers });
    if (answer.ok) {
      stopPolling();
      $('buy').hidden = true;
      $('queue').hidden = true;
      notify('Order received: it is being reserved for you.');
      void loadSale(); // the units left
      return startOrder(answer.body.orderId, answer.body.status);
    }
    const code = answer.body.code;
    showProblem(answer);
    if (code === 'OUTCOME_UNKNOWN' && answer.body.orderId) return startOrder(answer.body.orderId, 'QUEUED');
    if (code === 'ADMISSION_USED' || code === 'LIMIT_EXCEEDED') return findMyOrder();
    if (code === 'ADMISSION_INVALID' || code === 'ADMISSION_REQUIRED') {
      state.queue = null;
      $('buy').hidden = true;
      return schedulePoll(0);
    }
    if (code === 'SOLD_OUT' || code === 'SALE_NOT_ACTIVE') {
      $('buy').hidden = true;
      if (hasRoom()) schedulePoll(1);
      void loadSale();
    }
  } finally {
    state.buying = false;
    $('purchase').disabled = false;
  }
}

/** After ADMISSION_USED or LIMIT_EXCEEDED: the shopper's latest order of this sale, if any. */
async function findMyOrder() {
  const answer = await api('GET', '/me/orders?page=1&pageSize=20');
  if (!answer.ok) return;
  const mine = (answer.body.items || [])
    .filter((o) => o.saleId === saleId)
    .sort((a, b) => String(b.admittedAt).localeCompare(String(a.admittedAt)))[0];
  if (mine) {
    $('buy').hidden = true;
    startOrder(mine.id, mine.status);
  }
}

// ---- The order ------------------------------------------------------------------
const STATUS_TEXT = {
  QUEUED: 'received, being saved',
  PENDING: 'saved, reserving your unit',
  AWAITING_PAYMENT: 'reserved: awaiting payment',
  PAID: 'paid. Thank you!',
  CANCELLED: 'cancelled',
  FAILED: 'not completed',
};
const FINAL = new Set(['PAID', 'CANCELLED', 'FAILED']);
const STEPS = ['QUEUED', 'PENDING', 'AWAITING_PAYMENT', 'PAID'];

function startOrder(orderId, status) {
  if (state.order?.id !== orderId) state.payKey = null;
  state.orderId = orderId;
  sessionStorage.setItem(`shop.order.${saleId}`, orderId);
  $('order').hidden = false;
  $('order-id').textContent = orderId;
  renderOrder({ id: orderId, status: status || 'QUEUED' });
  follow(orderId);
}

function renderOrder(order) {
  const known = state.order && state.order.id === order.id ? state.order : {};
  state.order = { ...known, ...order };
  const o = state.order;
  $('order').dataset.status = o.status;
  let text = STATUS_TEXT[o.status] || o.status;
  if (o.status === 'FAILED' && o.reason) text += ` (${o.reason})`;
  if (o.status === 'FAILED' && o.failureReason) text += ` (${o.failureReason})`;
  $('order-status').textContent = text;
  const reached = STEPS.indexOf(o.status);
  for (const li of document.querySelectorAll('#order-steps li')) {
    const i = STEPS.indexOf(li.dataset.step);
    li.className = reached >= 0 && i < reached ? 'done' : i === reached ? 'current' : '';
    if (i === reached) li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  }
  $('pay').hidden = o.status !== 'AWAITING_PAYMENT';
  $('cancel').hidden = o.status !== 'AWAITING_PAYMENT' && o.status !== 'PENDING';
  $('order-deadline').textContent =
    o.status === 'AWAITING_PAYMENT' && o.paymentDeadline
      ? `Pay by ${new Date(o.paymentDeadline).toLocaleTimeString()}, or the order is cancelled and the unit goes to the next shopper.`
      : '';
}

function stopFollowing() {
  state.following?.abort();
  state.following = null;
}

/**
 * Follows the order's status: the server-sent events of /orders/:id/events read
 * through fetch (EventSource cannot send the bearer token), and a GET every
 * few seconds when the stream is refused or drops before a final status.
 */
function follow(orderId) {
  stopFollowing();
  const control = new AbortController();
  state.following = control;
  void (async () => {
    await refreshOrder(orderId); // the details (deadline, amount) the stream does not carry
    try {
      const res = await fetch(`/orders/${encodeURIComponent(orderId)}/events`, {
        headers: { authorization: `Bearer ${state.token}`, accept: 'text/event-stream' },
        signal: control.signal,
      });
      if (res.ok && res.body) await readEvents(res.body, orderId);
    } catch {
      // dropped or aborted: the polling below takes over unless aborted
    }
    while (!control.signal.aborted && !FINAL.has(state.order?.status)) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      if (!control.signal.aborted) await refreshOrder(orderId);
    }
  })();
}

async function readEvents(stream, orderId) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (!data) continue;
      try {
        const change = JSON.parse(data);
        const before = state.order?.status;
        renderOrder({ id: orderId, status: change.status, reason: change.reason });
        if (change.status !== before && change.status === 'AWAITING_PAYMENT') await refreshOrder(orderId);
      } catch {
        // not a status line
      }
    }
  }
}

async function refreshOrder(orderId) {
  const answer = await api('GET', `/orders/${encodeURIComponent(orderId)}`);
  if (answer.ok) renderOrder(answer.body);
  else if (answer.status === 404) {
    // An OUTCOME_UNKNOWN whose order never came to be, or another account's.
    stopFollowing();
    sessionStorage.removeItem(`shop.order.${saleId}`);
    state.orderId = null;
    $('order').hidden = true;
    showProblem(answer);
  }
}

async function pay() {
  clearProblem();
  $('pay').disabled = true;
  try {
    const answer = await api('POST', `/orders/${encodeURIComponent(state.orderId)}/pay`, {
      headers: { 'idempotency-key': (state.payKey ??= newKey()) },
    });
    if (!answer.ok) return showProblem(answer);
    renderOrder(answer.body);
    notify('Paid. Thank you!');
  } finally {
    $('pay').disabled = false;
  }
}

async function cancel() {
  clearProblem();
  const answer = await api('POST', `/orders/${encodeURIComponent(state.orderId)}/cancel`);
  if (!answer.ok) return showProblem(answer);
  renderOrder(answer.body);
  notify('Order cancelled.');
}

// ---- Start --------------------------------------------------------------------
async function afterSignIn() {
  if (!state.sale) return;
  if (state.orderId) return startOrder(state.orderId);
  if (hasRoom()) {
    // Where the shopper stands already (a reload or a second tab keeps the place).
    renderQueue(null);
    await poll();
  }
  tick();
}

async function start() {
  $('signin').addEventListener('submit', (event) => void submitAccount(event));
  $('mode').addEventListener('click', () => setMode(!state.registering));
  $('signout').addEventListener('click', () => signOut());
  $('join').addEventListener('click', () => void join());
  $('leave').addEventListener('click', () => void leave());
  $('purchase').addEventListener('click', () => void purchase());
  $('pay').addEventListener('click', () => void pay());
  $('cancel').addEventListener('click', () => void cancel());
  showAccount();
  if (!saleId) return loadCatalog();
  if (!(await loadSale())) return;
  setInterval(tick, 1000);
  // The sale's figures (left, status) every 15 s while the page is open.
  setInterval(() => void loadSale(), 15_000);
  if (state.token) await afterSignIn();
}

globalThis.FlashShop = {
  /** For the anti-bot solver: see "Anti-bot hook" above. */
  useChallengeSolver(solve, { beforeJoin } = {}) {
    hooks.solve = solve;
    hooks.beforeJoin = beforeJoin || null;
  },
  saleId,
  /** The error codes the page words itself (the suite checks them against the OpenAPI document). */
  messageCodes: Object.keys(MESSAGES),
};

void start();
