/** Statistics of the room bench: Kendall's τ-b in O(n log n), a least-squares slope, in-order checks. */

/**
 * Kendall's τ-b of the pairs (x[i], y[i]) (Knight's algorithm, ties in
 * either variable allowed, as scipy computes it). 0 when a variable is
 * constant or there are fewer than two pairs.
 */
export function kendallTau(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n < 2) return 0;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]! || y[a]! - y[b]!);
  const ys = Float64Array.from(order, (i) => y[i]!);
  const xs = Float64Array.from(order, (i) => x[i]!);
  // Pairs tied in x, and tied in both (ys is sorted within each run of equal x).
  let tiedX = 0;
  let tiedXY = 0;
  for (const [from, to] of runs(xs, 0, n)) {
    tiedX += ((to - from) * (to - from - 1)) / 2;
    for (const [a, b] of runs(ys, from, to)) tiedXY += ((b - a) * (b - a - 1)) / 2;
  }
  // Discordant pairs: inversions of y (strictly greater before smaller), by merge sort.
  const swaps = mergeCount(ys, new Float64Array(n));
  let tiedY = 0;
  for (const [from, to] of runs(ys, 0, n)) tiedY += ((to - from) * (to - from - 1)) / 2;
  const pairs = (n * (n - 1)) / 2;
  const denominator = Math.sqrt((pairs - tiedX) * (pairs - tiedY));
  if (denominator === 0) return 0;
  return (pairs - tiedX - tiedY + tiedXY - 2 * swaps) / denominator;
}

/** The runs of equal values of a[from, to): [start, end) of each. */
function* runs(a: Float64Array, from: number, to: number): Generator<[number, number]> {
  let start = from;
  for (let i = from + 1; i <= to; i++) {
    if (i === to || a[i] !== a[start]) {
      yield [start, i];
      start = i;
    }
  }
}

/** Sorts `a` in place (bottom-up merge sort) and returns how many inversions it had. */
function mergeCount(a: Float64Array, scratch: Float64Array): number {
  const n = a.length;
  let inversions = 0;
  let src = a;
  let dst = scratch;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (src[j]! < src[i]!) {
          inversions += mid - i;
          dst[k++] = src[j++]!;
        } else dst[k++] = src[i++]!;
      }
      while (i < mid) dst[k++] = src[i++]!;
      while (j < hi) dst[k++] = src[j++]!;
    }
    [src, dst] = [dst, src];
  }
  if (src !== a) a.set(src);
  return inversions;
}

/** Least-squares slope of y over x (0 with fewer than two distinct x). */
export function slope(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += x[i]!;
    sy += y[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

/**
 * Whether requests served first come first served got places in their order,
 * as far as the client can tell: for every pair where one request's answer
 * arrived before the other was sent, the earlier one must have the smaller
 * place. A place known only within bounds (`low` ≤ place ≤ `high`) is out of
 * order only when it certainly is. Returns the number of requests placed at
 * or before one answered before they were sent (0: in order).
 */
export function outOfOrder(items: { sentAt: number; answeredAt: number; low: number; high: number }[]): number {
  const byAnswer = [...items].sort((a, b) => a.answeredAt - b.answeredAt);
  // Highest lower bound among the requests answered up to each point.
  const highest: number[] = [];
  let max = -Infinity;
  for (const item of byAnswer) highest.push((max = Math.max(max, item.low)));
  let wrong = 0;
  for (const item of items) {
    // Requests answered before this one was sent: binary search in byAnswer.
    let lo = 0;
    let hi = byAnswer.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byAnswer[mid]!.answeredAt < item.sentAt) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && highest[lo - 1]! >= item.high) wrong++;
  }
  return wrong;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
