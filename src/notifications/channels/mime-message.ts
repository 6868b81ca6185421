import { randomBytes } from 'node:crypto';
import { encodeWords, foldLines, hasLongerLines, isPlainText } from 'nodemailer/lib/mime-funcs';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';

/** What one email says and to whom; the sender's header is formatted once by the caller. */
export interface MimeMail {
  /** The whole From header line, already encoded (see EmailSender). */
  fromHeader: string;
  /** An ASCII address (the caller sends anything else through nodemailer's composer). */
  to: string;
  subject: string;
  text: string;
  html: string;
  /** `<id@domain>`. */
  messageId: string;
  notificationId: string;
  date: Date;
}

const CRLF = '\r\n';
/** Printable ASCII only: what may stand in a header unencoded. */
const ASCII_ADDRESS = /^[\x21-\x7e]+$/;

/** Whether `address` can go into a To header as it is (printable ASCII, no spaces). */
export const isAsciiAddress = (address: string): boolean => ASCII_ADDRESS.test(address);

/** One line breaks as CRLF, nothing else: a lone CR or LF becomes CRLF. */
const crlf = (text: string): string => text.replace(/\r\n|\r|\n/g, CRLF);

/**
 * A text part's body and its transfer encoding, chosen as nodemailer's
 * composer does: 7bit when it is printable ASCII with lines of at most 76
 * characters, quoted-printable otherwise (UTF-8 bytes as =XX, soft breaks
 * at 76). Our templates are mostly ASCII, so base64 is never worth it.
 */
function body(text: string): { encoding: '7bit' | 'quoted-printable'; content: string } {
  const lines = crlf(text);
  if (isPlainText(lines) && !hasLongerLines(lines, 76)) return { encoding: '7bit', content: lines };
  return { encoding: 'quoted-printable', content: qpWrap(qpEncode(lines), 76) };
}

/** A header line of free text: UTF-8 as RFC 2047 encoded words when needed, folded at 76 like nodemailer's. */
export function textHeader(name: string, value: string): string {
  const flat = value.replace(/\r?\n|\r/g, ' ');
  return foldLines(`${name}: ${isPlainText(flat) ? flat : encodeWords(flat, 'Q', 52)}`, 76);
}

/**
 * The whole message as one RFC 5322 string (CRLF line ends): a
 * multipart/alternative of the text and the HTML, with the headers
 * nodemailer's composer would write for the same mail (From, To, Subject,
 * Message-ID, Date, MIME-Version, X-Notification-Id). Handed to nodemailer as
 * `raw` with its envelope, so the SMTP pool sends it as it is (dot-stuffing
 * and the DATA terminator are the transport's) and nodemailer builds no MIME
 * tree and no encoder streams for it.
 */
export function composeMime(mail: MimeMail): string {
  const text = body(mail.text);
  const html = body(mail.html);
  let boundary = `--_Fs-${mail.notificationId}-Part_1`;
  // A boundary must not occur in a part; a 7bit part is the shopper's or the admin's words as typed.
  while (text.content.includes(boundary) || html.content.includes(boundary)) {
    boundary = `--_Fs-${randomBytes(12).toString('hex')}-Part_1`;
  }
  return [
    mail.fromHeader,
    `To: ${mail.to}`,
    textHeader('Subject', mail.subject),
    `Message-ID: ${mail.messageId}`,
    `X-Notification-Id: ${mail.notificationId}`,
    `Date: ${mail.date.toUTCString().replace(/GMT/, '+0000')}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative;',
    ` boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Transfer-Encoding: ${text.encoding}`,
    '',
    text.content,
    `--${boundary}`,
    'Content-Type: text/html; charset=utf-8',
    `Content-Transfer-Encoding: ${html.encoding}`,
    '',
    html.content,
    `--${boundary}--`,
    '',
  ].join(CRLF);
}
