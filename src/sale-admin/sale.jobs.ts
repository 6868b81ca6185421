/** Payloads of the jobs the sales module publishes (see infra/queues: JobData). */
export {};

declare module '../infra/queues/queues.js' {
  interface JobData {
    [JobName.PreheatSale]: { saleId: string };
    [JobName.ReconcileSales]: Record<string, never>;
  }
}
