import { describe, expect, it } from '@jest/globals';
import { classifySmtpError } from './email.sender.js';

const smtpError = (props: Record<string, unknown>): Error => Object.assign(new Error('failed'), props);

describe('classifySmtpError', () => {
  it.each([
    [{ responseCode: 550, response: '550 5.1.1 no such user', command: 'RCPT TO' }, true],
    [{ responseCode: 554, response: '554 rejected' }, true],
    [{ responseCode: 503, response: '503 bad sequence' }, false],
    [{ responseCode: 421, response: '421 try later' }, false],
    [{ responseCode: 451, response: '451 local error' }, false],
    [{ code: 'ESOCKET', originalCode: 'ECONNREFUSED' }, false],
    [{ code: 'ETIMEDOUT' }, false],
    [{ code: 'ECONNECTION' }, false],
    [{ code: 'EENVELOPE' }, true],
    [{ code: 'ENOAUTH' }, true],
  ])('%j → permanent %s', (props, permanent) => {
    const failure = classifySmtpError(smtpError(props));
    expect(failure.permanent).toBe(permanent);
    expect(failure.message).toMatch(/^SMTP /);
  });

  it('keeps the server reply as the reason', () => {
    const failure = classifySmtpError(
      smtpError({ responseCode: 550, response: '550 5.1.1 no such user', command: 'RCPT TO' }),
    );
    expect(failure.message).toBe('SMTP RCPT TO refused: 550 5.1.1 no such user');
  });
});
