import { carriesNothing, JobName, type JobData, type PayloadGuards } from '../infra/queues/queues.js';

/** Payloads of the jobs sale administration publishes on the `promotions` queue (see infra/queues: JobData). */
declare module '../infra/queues/queues.js' {
  interface JobData {
    [JobName.PreheatSale]: { saleId: string };
    [JobName.ReconcileSales]: Record<string, never>;
  }
}

/** The guards of those payloads (checked by the worker before a handler runs). */
export const SALE_JOB_GUARDS = {
  [JobName.PreheatSale]: (data: unknown): data is JobData[typeof JobName.PreheatSale] =>
    typeof (data as Partial<JobData[typeof JobName.PreheatSale]> | null)?.saleId === 'string',
  [JobName.ReconcileSales]: carriesNothing,
} satisfies Partial<PayloadGuards>;
