import { JobName, UNTIL_DONE_ATTEMPTS } from '../infra/queues/queues.js';

/** An admitted purchase, as the gate recorded it. */
export interface Ticket {
  orderId: string;
  saleId: string;
  userId: string;
  quantity: number;
  /** ms since the epoch */
  admittedAt: number;
  /**
   * The hand-off batch the admission joined: the id of the `orders.place`
   * job that carries it (absent on tickets admitted before batches).
   */
  batch?: string;
}

declare module '../infra/queues/queues.js' {
  interface JobData {
    /** One ticket (job id = order id): a poison ticket split off its batch (and jobs added before batches). */
    [JobName.PlaceOrder]: Ticket;
    /** A batch of admitted tickets (job id = the batch id in every ticket). */
    [JobName.PlaceOrders]: { tickets: Ticket[] };
  }
}

/**
 * The job that hands a batch of admitted tickets to the workers: job id = the
 * batch id written in each ticket, retried until done (a poison ticket is split
 * off to fail alone, see OrderPipelineService.placeAll).
 */
export function placeOrdersJob(batchId: string, tickets: Ticket[]) {
  return {
    name: JobName.PlaceOrders,
    data: { tickets },
    opts: { jobId: batchId, attempts: UNTIL_DONE_ATTEMPTS },
  };
}
