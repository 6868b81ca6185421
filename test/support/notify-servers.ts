import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  /** The raw message with quoted-printable soft line breaks removed. */
  raw: string;
  notificationId: string | undefined;
  messageId: string | undefined;
}

/** The answer to one RCPT TO: accept (undefined) or an SMTP error code and text. */
export type RcptAnswer = { code: number; text: string } | undefined;

export interface TestSmtpServer {
  url: string;
  received: ReceivedMail[];
  /** Refusals sent so far (RCPT TO answered with an error). */
  refusals: number;
  /** Decides each RCPT TO; the default accepts everything. */
  onRcpt: (address: string) => RcptAnswer;
  /** Delay before each message is accepted (a slow server). */
  delayMs: number;
  close(): Promise<void>;
}

/** A real SMTP server on a free loopback port that keeps what it receives. */
export async function startSmtpServer(): Promise<TestSmtpServer> {
  const state: Omit<TestSmtpServer, 'url' | 'close'> = {
    received: [],
    refusals: 0,
    onRcpt: () => undefined,
    delayMs: 0,
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    closeTimeout: 500,
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      const answer = state.onRcpt(address.address);
      if (!answer) return callback();
      state.refusals += 1;
      callback(Object.assign(new Error(answer.text), { responseCode: answer.code }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks)
          .toString('utf8')
          .replace(/=\r?\n/g, '');
        const finish = (): void => {
          state.received.push({
            to: (session.envelope.rcptTo as SMTPServerAddress[]).map((a) => a.address),
            raw,
            notificationId: /^X-Notification-Id: (\S+)/im.exec(raw)?.[1],
            messageId: /^Message-ID: (\S+)/im.exec(raw)?.[1],
          });
          callback();
        };
        if (state.delayMs > 0) setTimeout(finish, state.delayMs);
        else finish();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return Object.assign(state, {
    url: `smtp://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

export interface ReceivedSms {
  id: string;
  to: string;
  from: string;
  text: string;
  authorization: string | undefined;
  idempotencyKey: string | undefined;
}

export interface TestSmsGateway {
  url: string;
  /** Every request that reached the gateway, whatever it answered. */
  requests: ReceivedSms[];
  /** Messages answered 2xx. */
  accepted: ReceivedSms[];
  /** Decides each answer's status (default 202). */
  answer: (sms: ReceivedSms) => number;
  /** TCP connections opened to the gateway so far (a client that reuses them opens few). */
  connections: number;
  close(): Promise<void>;
}

/** An HTTP SMS gateway on a free loopback port: records the JSON it gets and answers as told. */
export async function startSmsGateway(): Promise<TestSmsGateway> {
  const state: Omit<TestSmsGateway, 'url' | 'close'> = {
    requests: [],
    accepted: [],
    answer: () => 202,
    connections: 0,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<
        ReceivedSms,
        'authorization' | 'idempotencyKey'
      >;
      const sms: ReceivedSms = {
        ...body,
        authorization: req.headers.authorization,
        idempotencyKey: req.headers['idempotency-key'] as string | undefined,
      };
      state.requests.push(sms);
      const status = state.answer(sms);
      if (status >= 200 && status < 300) state.accepted.push(sms);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(status < 300 ? { id: sms.id } : { error: status === 400 ? 'invalid destination' : 'busy' }),
      );
    });
  });
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/sms`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
