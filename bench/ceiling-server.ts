/**
 * The ceiling: a bare Fastify server with one POST route answering a constant,
 * loaded by the same generator with the same settings as the real API.
 */
import Fastify from 'fastify';

const port = Number(process.argv[2] ?? 0);
const app = Fastify({ logger: false });
const answer = JSON.stringify({ orderId: '01JCEILING0000000000000000', status: 'QUEUED' });
app.post('/sales/:id/orders', async (_request, reply) => {
  void reply.status(202).header('content-type', 'application/json; charset=utf-8');
  return answer;
});
await app.listen({ port, host: '127.0.0.1' });
console.log(`ceiling listening on ${port}`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
