import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { REDACTED_PATHS } from './logging.js';

describe('REDACTED_PATHS', () => {
  it('keeps credentials out of log lines wherever they sit', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink);
    logger.info({
      req: { headers: { authorization: 'Bearer jwt-1', cookie: 'flash_admin=jwt-2' } },
      headers: { authorization: 'Bearer jwt-3' },
      body: { email: 'a@b.c', password: 'pw-1', accessToken: 'jwt-4', token: 'jwt-5' },
      password: 'pw-2',
    });
    const line = lines.join('');
    for (const secret of ['jwt-1', 'jwt-2', 'jwt-3', 'jwt-4', 'jwt-5', 'pw-1', 'pw-2'])
      expect(line).not.toContain(secret);
    expect(line).toContain('a@b.c');
    expect(line.match(/\[redacted\]/g)).toHaveLength(7);
  });
});
