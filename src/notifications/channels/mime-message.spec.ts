import { describe, expect, it } from '@jest/globals';
import { composeMime, isAsciiAddress, type MimeMail } from './mime-message.js';

const mail = (over: Partial<MimeMail> = {}): MimeMail => ({
  fromHeader: 'From: Flash Sale <no-reply@flash-sale.test>',
  to: 'shopper@example.test',
  subject: 'Order 01JF0000000000000000000001 confirmed: pay by 2026-11-21 12:15 UTC',
  text: 'Hello,\n\nyour order is confirmed.',
  html: '<p>Hello,</p>\n<p>your order is confirmed.</p>',
  messageId: '<n1@flash-sale.test>',
  notificationId: 'n1',
  date: new Date('2026-12-07T20:00:00Z'),
  ...over,
});

/** Headers (unfolded) and the parts of a multipart/alternative message, decoded. */
function parse(raw: string): { headers: Map<string, string>; parts: { type: string; body: string }[] } {
  const [head, ...rest] = raw.split('\r\n\r\n');
  const headers = new Map(
    head!
      .replace(/\r\n[ \t]/g, ' ')
      .split('\r\n')
      .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 2)] as const),
  );
  const boundary = /boundary="([^"]+)"/.exec(headers.get('content-type')!)![1]!;
  const sections = rest.join('\r\n\r\n').split(`--${boundary}`);
  expect(sections.at(-1)).toBe('--\r\n');
  const parts = sections.slice(1, -1).map((section) => {
    const [partHead, ...body] = section.replace(/^\r\n/, '').split('\r\n\r\n');
    const encoded = body.join('\r\n\r\n').replace(/\r\n$/, '');
    const qp = /quoted-printable/.test(partHead!);
    const bytes = qp
      ? Buffer.from(
          encoded
            .replace(/=\r\n/g, '')
            .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
          'latin1',
        ).toString('utf8')
      : encoded;
    return { type: /Content-Type: ([^;]+)/.exec(partHead!)![1]!, body: bytes };
  });
  return { headers, parts };
}

/** RFC 2047 Q words back to text. */
const decodeWords = (value: string): string =>
  value.replace(/\?=\s+=\?UTF-8\?Q\?/g, '').replace(/=\?UTF-8\?Q\?(.*?)\?=/g, (_, q: string) =>
    Buffer.from(
      q.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/g, (__, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8'),
  );

describe('composeMime: one email as an RFC 5322 string', () => {
  it('carries the headers nodemailer wrote and a text and an HTML part', () => {
    const raw = composeMime(mail());
    const { headers, parts } = parse(raw);
    expect(headers.get('from')).toBe('Flash Sale <no-reply@flash-sale.test>');
    expect(headers.get('to')).toBe('shopper@example.test');
    expect(headers.get('subject')).toBe(mail().subject);
    expect(headers.get('message-id')).toBe('<n1@flash-sale.test>');
    expect(headers.get('x-notification-id')).toBe('n1');
    expect(headers.get('date')).toBe('Mon, 07 Dec 2026 20:00:00 +0000');
    expect(headers.get('mime-version')).toBe('1.0');
    expect(parts).toEqual([
      { type: 'text/plain', body: 'Hello,\r\n\r\nyour order is confirmed.' },
      { type: 'text/html', body: '<p>Hello,</p>\r\n<p>your order is confirmed.</p>' },
    ]);
  });

  it('has CRLF line ends only and no line over 78 characters', () => {
    const raw = composeMime(
      mail({ subject: `Ordre ${'très '.repeat(30)}long`, text: `Zoë ${'x'.repeat(300)}\n.\r\nend\rfin` }),
    );
    expect(raw.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    for (const line of raw.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
  });

  it('encodes a subject beyond ASCII as RFC 2047 words, and keeps it on one header', () => {
    const subject = 'Commande confirmée : payez avant 12:15 — merci, Zoë ✓ '.repeat(2).trim();
    const { headers } = parse(composeMime(mail({ subject })));
    expect(headers.get('subject')).toMatch(/=\?UTF-8\?Q\?/);
    expect(decodeWords(headers.get('subject')!)).toBe(subject);
    // A line break typed into a subject cannot start a header of its own.
    const injected = parse(composeMime(mail({ subject: 'hi\r\nBcc: victim@example.test' }))).headers;
    expect(injected.has('bcc')).toBe(false);
    expect(injected.get('subject')).toBe('hi Bcc: victim@example.test');
  });

  it('sends text beyond ASCII or with long lines as quoted-printable, and gets it back exactly', () => {
    const text = `Hello Zoë,\n\n${'a long line '.repeat(20)}\n.starts with a dot\n=equals=`;
    const { parts } = parse(composeMime(mail({ text, html: `<p>${'é'.repeat(100)}</p>` })));
    expect(parts[0]!.body).toBe(text.replace(/\n/g, '\r\n'));
    expect(parts[1]!.body).toBe(`<p>${'é'.repeat(100)}</p>`);
    expect(composeMime(mail({ text }))).toMatch(/Content-Transfer-Encoding: quoted-printable\r\n\r\nHello Zo=C3=AB,/);
    expect(composeMime(mail())).toMatch(/Content-Transfer-Encoding: 7bit\r\n\r\nHello,/);
  });

  it('picks another boundary when a part holds it', () => {
    const text = 'look: ----_Fs-n1-Part_1 here';
    const raw = composeMime(mail({ text }));
    const { parts } = parse(raw);
    expect(parts.map((p) => p.body)).toEqual([text, mail().html.replace(/\n/g, '\r\n')]);
  });

  it('isAsciiAddress: printable ASCII only', () => {
    expect(isAsciiAddress('a.b+c@example.test')).toBe(true);
    expect(isAsciiAddress('zoë@example.test')).toBe(false);
    expect(isAsciiAddress('a@exämple.test')).toBe(false);
    expect(isAsciiAddress('a b@example.test')).toBe(false);
  });
});
