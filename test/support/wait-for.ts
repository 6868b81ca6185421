/**
 * Polls until the check holds (the pipeline's own completion is the signal:
 * an order reached a status, a queue went idle), every 50 ms, up to timeoutMs;
 * then fails naming what it waited for and the last value seen.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
    value = await probe();
  }
  return value;
}
