/**
 * The notification channels' far ends for `npm run bench -- --notifications`:
 * an SMTP server and an HTTP SMS gateway (the test suite's own), in a process
 * of their own so their CPU is not the load generator's. Prints their URLs as
 * one JSON line; answers `stats` messages over IPC.
 */
import { startSmsGateway, startSmtpServer } from '../test/support/notify-servers.js';

const smtp = await startSmtpServer();
const sms = await startSmsGateway();
let lastAt = 0;
let mails = 0;
let texts = 0;
const mailIds = new Set<string>();
const smsIds = new Set<string>();
let duplicates = 0;
// Count as they arrive and drop the bodies: 100,000 messages would otherwise stay in memory.
setInterval(() => {
  for (const m of smtp.received.splice(0)) {
    mails++;
    lastAt = Date.now();
    if (m.notificationId && mailIds.has(m.notificationId)) duplicates++;
    if (m.notificationId) mailIds.add(m.notificationId);
  }
  sms.requests.splice(0);
  for (const s of sms.accepted.splice(0)) {
    texts++;
    lastAt = Date.now();
    if (smsIds.has(s.id)) duplicates++;
    smsIds.add(s.id);
  }
}, 100).unref();

process.on('message', (message) => {
  if (message === 'stats') process.send?.({ mails, texts, duplicates, lastAt });
});
process.on('disconnect', () => process.exit(0));
console.log(JSON.stringify({ smtpUrl: smtp.url, smsUrl: sms.url }));
