import { JobName, UNTIL_DONE_ATTEMPTS, type JobData, type PayloadGuards } from '../infra/queues/queues.js';

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

/** Whether `data` is a ticket (the fields an order is made of). */
export function isTicket(data: unknown): data is Ticket {
  const t = data as Partial<Ticket> | null;
  return (
    typeof t?.orderId === 'string' &&
    typeof t.saleId === 'string' &&
    typeof t.userId === 'string' &&
    Number.isInteger(t.quantity) &&
    typeof t.admittedAt === 'number'
  );
}

/** The guards of the ticket jobs' payloads: a ticket; a batch of at least one, every one a ticket. */
export const TICKET_JOB_GUARDS = {
  [JobName.PlaceOrder]: isTicket,
  [JobName.PlaceOrders]: (data: unknown): data is JobData[typeof JobName.PlaceOrders] => {
    const tickets = (data as Partial<JobData[typeof JobName.PlaceOrders]> | null)?.tickets;
    return Array.isArray(tickets) && tickets.length > 0 && tickets.every(isTicket);
  },
} satisfies Partial<PayloadGuards>;

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
