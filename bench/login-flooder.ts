/**
 * `node dist-bench/bench/login-flooder.js <url> <rate>`: wrong-password logins
 * at `rate` a second (open loop: it does not wait for answers) until SIGTERM,
 * then prints the answers by status as JSON. Run as its own process by
 * bench/login-flood.ts, so that the flood does not slow the measuring client.
 */
const [target, rateText] = process.argv.slice(2);
const rate = Number(rateText);
const counts: Record<string, number> = {};
const body = JSON.stringify({ email: 'target@flood.test', password: 'wrong-password' });

function shoot(): void {
  fetch(`${target}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    .then(async (res) => {
      await res.arrayBuffer();
      counts[res.status] = (counts[res.status] ?? 0) + 1;
    })
    .catch(() => {
      counts.error = (counts.error ?? 0) + 1;
    });
}

const BURST = 5;
const timer = setInterval(
  () => {
    for (let i = 0; i < BURST; i++) shoot();
  },
  (1000 / rate) * BURST,
);
process.on('SIGTERM', () => {
  clearInterval(timer);
  process.stdout.write(JSON.stringify(counts));
  process.exit(0);
});
