// The live sale view: one card per watched sale, updated from the
// server-sent events of /admin/live/stream (one sample per second), with an
// SVG sparkline of the last two minutes of every figure. No framework.
const HISTORY = 120;
const STATUSES = ['QUEUED', 'PENDING', 'AWAITING_PAYMENT', 'PAID', 'CANCELLED', 'FAILED'];
const history = new Map(); // `${saleId} ${figure}` -> numbers
const main = document.getElementById('sales');
const empty = document.getElementById('empty');
const connection = document.getElementById('connection');
const clock = document.getElementById('clock');

const number = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });

function remember(saleId, figure, value) {
  const key = `${saleId} ${figure}`;
  const values = history.get(key) ?? [];
  values.push(value);
  if (values.length > HISTORY) values.shift();
  history.set(key, values);
  return values;
}

const SVG = 'http://www.w3.org/2000/svg';
function sparkline(values) {
  const width = 120;
  const height = 28;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('class', 'spark');
  const max = Math.max(...values, 1);
  const min = Math.min(...values, 0);
  // The last samples fill the width (at least 30 slots, so a young line is not stretched).
  const step = width / Math.max(values.length - 1, 29);
  const offset = width - (values.length - 1) * step;
  const points = values
    .map(
      (v, i) =>
        `${(offset + i * step).toFixed(1)},${(height - 2 - ((v - min) / (max - min || 1)) * (height - 4)).toFixed(1)}`,
    )
    .join(' ');
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', points);
  svg.appendChild(line);
  return svg;
}

function figure(saleId, key, label, value, unit = '') {
  const values = remember(saleId, key, value);
  const cell = document.createElement('div');
  cell.className = 'figure';
  cell.dataset.figure = key;
  const name = document.createElement('span');
  name.className = 'label';
  name.textContent = label;
  const shown = document.createElement('span');
  shown.className = 'value';
  shown.textContent = `${number.format(value)}${unit}`;
  cell.append(name, shown, sparkline(values));
  return cell;
}

function card(sale) {
  const section = document.createElement('section');
  section.className = 'sale';
  section.dataset.sale = sale.id;
  const title = document.createElement('h2');
  title.textContent = sale.name;
  const status = document.createElement('span');
  status.className = `badge status-${sale.status}`;
  status.dataset.figure = 'status';
  status.textContent = sale.status;
  title.append(' ', status);
  const window = document.createElement('p');
  window.className = 'window';
  window.textContent = `${new Date(sale.startsAt).toLocaleTimeString()} – ${new Date(sale.endsAt).toLocaleTimeString()} · stock ${sale.stock} · id ${sale.id}`;

  const main = document.createElement('div');
  main.className = 'figures';
  main.append(
    figure(sale.id, 'remaining', 'stock left', sale.remaining),
    figure(sale.id, 'admitted', 'admitted', sale.admitted),
    figure(sale.id, 'admissions', 'admissions', sale.rates.admissions, '/s'),
    figure(sale.id, 'refusals', 'refusals', sale.rates.refusals, '/s'),
    figure(sale.id, 'backlog', 'backlog', sale.backlog),
    figure(sale.id, 'drain', 'drain', sale.rates.drain, '/s'),
  );

  const refusals = document.createElement('div');
  refusals.className = 'figures small';
  for (const [code, total] of Object.entries(sale.refusals)) {
    refusals.append(
      figure(sale.id, `refusals-${code}`, `${code} (total ${total})`, sale.rates.refusalsByCode[code] ?? 0, '/s'),
    );
  }
  const orders = document.createElement('div');
  orders.className = 'figures small';
  for (const status of STATUSES) {
    orders.append(figure(sale.id, `orders-${status}`, status, sale.ordersByStatus[status] ?? 0));
  }
  const room = document.createElement('div');
  room.className = 'figures small';
  if (sale.room) {
    room.append(
      figure(sale.id, 'room-waiting', 'waiting', sale.room.waiting),
      figure(sale.id, 'room-admitted', 'admitted, unused', sale.room.admitted),
      figure(sale.id, 'room-buying', 'bought, not paid', sale.room.buying),
      figure(sale.id, 'room-rate', 'let in (measured)', sale.room.measuredAdmitPerSecond, '/s'),
      figure(sale.id, 'room-target', 'let in (target)', sale.room.targetAdmitPerSecond ?? 0, '/s'),
      figure(sale.id, 'room-wait', 'wait of the last', sale.room.estimatedWaitSeconds, ' s'),
    );
  }
  const roomTitle = document.createElement('h3');
  roomTitle.textContent = sale.room ? 'waiting room' : '';
  const refusalsTitle = document.createElement('h3');
  refusalsTitle.textContent = 'refusals by code (per second)';
  const ordersTitle = document.createElement('h3');
  ordersTitle.textContent = 'orders by status';
  section.append(title, window, main);
  if (sale.room) section.append(roomTitle, room);
  section.append(refusalsTitle, refusals, ordersTitle, orders);
  return section;
}

function render(sample) {
  clock.textContent = new Date(sample.at).toLocaleTimeString();
  empty.hidden = sample.sales.length > 0;
  const shown = new Set();
  for (const sale of sample.sales) {
    shown.add(sale.id);
    const fresh = card(sale);
    const old = main.querySelector(`section[data-sale="${sale.id}"]`);
    if (old) old.replaceWith(fresh);
    else main.appendChild(fresh);
  }
  for (const old of main.querySelectorAll('section[data-sale]')) {
    if (!shown.has(old.dataset.sale)) old.remove();
  }
}

function connect() {
  const stream = new EventSource('/admin/live/stream');
  stream.addEventListener('open', () => {
    connection.textContent = 'live';
    connection.className = 'badge ok';
  });
  stream.addEventListener('sample', (event) => render(JSON.parse(event.data)));
  stream.addEventListener('problem', () => {
    connection.textContent = 'figures unavailable';
    connection.className = 'badge warn';
  });
  stream.addEventListener('error', () => {
    connection.textContent = 'reconnecting…';
    connection.className = 'badge warn';
  });
}

document.getElementById('signout').addEventListener('click', async () => {
  await fetch('/admin/session', { method: 'DELETE' });
  location.reload();
});

connect();
