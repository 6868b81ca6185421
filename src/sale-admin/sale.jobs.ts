/** Payloads of the jobs sale administration publishes on the `promotions` queue (see infra/queues: JobData). */
export {};

declare module '../infra/queues/queues.js' {
  interface JobData {
    [JobName.PreheatSale]: { saleId: string };
    [JobName.ReconcileSales]: Record<string, never>;
  }
}
