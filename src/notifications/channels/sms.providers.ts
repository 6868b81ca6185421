import http from 'node:http';
import https from 'node:https';
import { Logger } from '@nestjs/common';
import { type NotifyConfig, type SmsProviderName } from '../../infra/config/app-config.js';
import { describeError, SendFailure } from './send-failure.js';
import type { SmsMessage, SmsProvider } from './sms-provider.js';

/** Longest a pooled connection to the SMS gateway is kept idle. */
const IDLE_CONNECTION_MS = 4000;

/** Development: writes each SMS to the worker's log instead of sending it. */
export class LogSmsProvider implements SmsProvider {
  readonly name = 'log';
  private readonly logger = new Logger('Sms');

  send(message: SmsMessage): Promise<void> {
    this.logger.log(`SMS ${message.id} to ${message.to}: ${message.text}`);
    return Promise.resolve();
  }
}

/**
 * POSTs `{id, to, from, text}` as JSON to SMS_GATEWAY_URL, with the token in
 * SMS_GATEWAY_AUTH_HEADER and the notification id as `Idempotency-Key`.
 * 2xx: accepted. 408, 429, 5xx, no answer in NOTIFY_TIMEOUT_MS or no
 * connection: transient. Any other 4xx: permanent.
 *
 * Over `node:http`/`node:https` with a keep-alive agent of its own: up to
 * NOTIFY_CONCURRENCY connections to the gateway, reused from one message to
 * the next (no TCP or TLS handshake per SMS), none kept idle longer than
 * 4 s (or NOTIFY_TIMEOUT_MS if shorter).
 */
export class HttpSmsProvider implements SmsProvider {
  readonly name = 'http';
  private readonly headers: Record<string, string>;
  private readonly url: URL;
  private readonly request: typeof http.request;
  private readonly agent: http.Agent;

  constructor(private readonly config: NotifyConfig) {
    this.headers = { 'content-type': 'application/json' };
    if (config.SMS_GATEWAY_TOKEN) {
      const header = config.SMS_GATEWAY_AUTH_HEADER;
      this.headers[header] =
        header.toLowerCase() === 'authorization' ? `Bearer ${config.SMS_GATEWAY_TOKEN}` : config.SMS_GATEWAY_TOKEN;
    }
    this.url = new URL(config.SMS_GATEWAY_URL);
    const tls = this.url.protocol === 'https:';
    const options: http.AgentOptions = {
      keepAlive: true,
      maxSockets: config.NOTIFY_CONCURRENCY,
      maxFreeSockets: config.NOTIFY_CONCURRENCY,
      // An idle connection is dropped before a gateway's own idle timeout is likely to (Node's server: 5 s),
      // so a message is rarely written to a connection the other end is closing.
      timeout: Math.min(config.NOTIFY_TIMEOUT_MS, IDLE_CONNECTION_MS),
      scheduling: 'lifo',
    };
    this.agent = tls ? new https.Agent(options) : new http.Agent(options);
    this.request = tls ? https.request : http.request;
  }

  async send(message: SmsMessage): Promise<void> {
    const body = JSON.stringify({ id: message.id, to: message.to, from: this.config.SMS_SENDER, text: message.text });
    let answer: { status: number; text: string };
    try {
      answer = await this.post(body, message.id);
    } catch (err) {
      throw new SendFailure(`SMS gateway unreachable: ${describeError(err)}`, false);
    }
    const { status, text } = answer;
    if (status >= 200 && status < 300) return;
    const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
    throw new SendFailure(`SMS gateway answered ${status}${text ? `: ${text}` : ''}`, permanent);
  }

  /** One request on a pooled connection; the whole exchange bounded by NOTIFY_TIMEOUT_MS. */
  private post(body: string, id: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = this.request(this.url, {
        method: 'POST',
        agent: this.agent,
        headers: { ...this.headers, 'idempotency-key': id, 'content-length': Buffer.byteLength(body) },
      });
      const timer = setTimeout(
        () =>
          req.destroy(
            Object.assign(new Error(`no answer in ${this.config.NOTIFY_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' }),
          ),
        this.config.NOTIFY_TIMEOUT_MS,
      );
      req.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.once('response', (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          // Only the start of an answer is kept (the reason of a refusal); the rest is read and dropped.
          if (size < 300) chunks.push(chunk);
          size += chunk.length;
        });
        res.once('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 300);
          resolve({ status, text });
        });
        res.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The built-in providers by SMS_PROVIDER name. */
export const SMS_PROVIDERS: { readonly [N in SmsProviderName]: (config: NotifyConfig) => SmsProvider } = {
  log: () => new LogSmsProvider(),
  http: (config) => new HttpSmsProvider(config),
};
