/**
 * The ceiling: a bare Fastify server with one POST route (the purchase's) and
 * one GET route (the waiting room's poll) answering constants, loaded by the
 * same generator with the same settings as the real API.
 */
import Fastify from 'fastify';

const port = Number(process.argv[2] ?? 0);
const app = Fastify({ logger: false });
const answer = JSON.stringify({ orderId: '01JCEILING0000000000000000', status: 'QUEUED' });
app.post('/sales/:id/orders', async (_request, reply) => {
  void reply.status(202).header('content-type', 'application/json; charset=utf-8');
  return answer;
});
const poll = JSON.stringify({
  state: 'waiting',
  position: 12345,
  estimatedWaitSeconds: { low: 20, high: 30 },
  refreshAfterSeconds: 10,
  queueLength: 100000,
  admitPerSecond: 500,
  startsAt: '2026-12-07T00:00:00.000Z',
  admission: null,
  // As long as the room's queue token (a signed memo of the answer).
  queueToken: `${'x'.repeat(200)}.${'y'.repeat(22)}`,
});
app.get('/sales/:id/queue', async (_request, reply) => {
  void reply.header('content-type', 'application/json; charset=utf-8');
  return poll;
});
await app.listen({ port, host: '127.0.0.1' });
console.log(`ceiling listening on ${port}`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
