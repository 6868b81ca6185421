import { expireJobId, JobName, UNTIL_DONE_ATTEMPTS, type JobData } from '../infra/queues/queues.js';

/**
 * The payment-deadline jobs, built here only. Each cancels the orders still
 * unpaid when it fires (AWAITING_PAYMENT past their deadline) and is retried
 * until done: a deadline must never be dropped, a database outage only
 * delays it.
 */

/**
 * The deadline of one order. `again`: a fresh job id (`expire-<order>-<now>`)
 * for a second wait, as an expiry that fired early or a claim given back after
 * the deadline need; without it the id is `expire-<order>`, so scheduling the
 * same order twice (a rebuilt gate) adds nothing twice.
 */
export function expireOrderJob(
  orderId: string,
  { delay = 0, again = false }: { delay?: number; again?: boolean } = {},
) {
  return {
    name: JobName.ExpireOrder,
    data: { orderId } satisfies JobData[typeof JobName.ExpireOrder],
    opts: {
      jobId: again ? `${expireJobId(orderId)}-${Date.now()}` : expireJobId(orderId),
      delay: Math.max(0, delay),
      attempts: UNTIL_DONE_ATTEMPTS,
    },
  };
}

/** The deadlines of several orders falling due together, under a job id the caller derives from what it carries. */
export function expireOrdersJob(jobId: string, orderIds: string[], delay = 0) {
  return {
    name: JobName.ExpireOrders,
    data: { orderIds } satisfies JobData[typeof JobName.ExpireOrders],
    opts: { jobId, delay: Math.max(0, delay), attempts: UNTIL_DONE_ATTEMPTS },
  };
}
