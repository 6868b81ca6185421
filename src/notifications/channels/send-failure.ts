/**
 * A send that did not go through. `permanent`: the same message would be
 * refused again (bad address, SMTP 5xx, gateway 4xx), so it is not retried.
 * Otherwise (connection refused, timeout, SMTP 4xx, gateway 5xx) it is.
 */
export class SendFailure extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'SendFailure';
  }
}

/** A short description of a low-level error: its code and message, and its cause's. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const cause = err.cause instanceof Error ? `: ${describeError(err.cause)}` : '';
  return `${code ? `${code} ` : ''}${err.message}${cause}`;
}
