import { z } from 'zod';

/**
 * Settings of the async path: the job queue, the worker role, the sweeper and webhook delivery.
 * src/config.ts spreads `JOBS_ENV` into its schema and calls `jobsConfigFrom`, so the environment
 * is still parsed once, with one error format.
 */
export const JOBS_ENV = {
  /** Whether this process runs queued predictions and webhook deliveries (`npm run worker` always does). */
  RUN_JOBS: z.enum(['true', 'false']).default('true'),
  /** Jobs one process runs at once (each waits on the inference pool, which bounds the real work). */
  JOB_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(8),
  /** Tries per job for retryable failures (a worker lost, an overloaded pool), with backoff. */
  JOB_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  JOB_BACKOFF_MS: z.coerce.number().int().min(1).max(600_000).default(1000),
  /** A running job's lock in Redis: a worker killed mid-job hands its job back after this long. */
  JOB_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** How often the sweeper looks for queued rows the queue lost, and how old they must be. */
  JOB_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(15_000),
  JOB_SWEEP_STALE_MS: z.coerce.number().int().min(0).max(86_400_000).default(30_000),
  /** `predictionUpdated` re-reads a job's row after this long without an event (one lost in a Redis outage). */
  PREDICTION_STREAM_RECHECK_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  /** Key prefix of the BullMQ queues in Redis. */
  QUEUE_PREFIX: z.string().min(1).max(100).default('mm'),
  /** Hosts, IPs or CIDRs webhooks may reach although private or loopback, comma-separated. */
  WEBHOOK_ALLOWED_HOSTS: z.string().default(''),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(30).default(8),
  /** First retry delay; doubled each time (8 attempts: about 21 minutes in all at 5 s). */
  WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(1).max(3_600_000).default(5000),
  /**
   * Hours a finished prediction keeps its output tensors; then they are deleted (the record, its
   * cost and usage stay). 0: kept until the consumer deletes them (deletePredictionData).
   */
  PREDICTION_DATA_RETENTION_HOURS: z.coerce.number().int().min(0).max(87_600).default(720),
  /** Lines a createBatchPrediction file may hold (each one prediction); its bytes are bounded by UPLOAD_MAX_BYTES. */
  BATCH_MAX_ROWS: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
};

export type JobsSettings = {
  jobs: {
    run: boolean;
    concurrency: number;
    attempts: number;
    backoffMs: number;
    lockMs: number;
    sweepIntervalMs: number;
    sweepStaleMs: number;
    streamRecheckMs: number;
    queuePrefix: string;
    /** Output tensors are deleted this long after a prediction ends; 0: never by age. */
    dataRetentionMs: number;
    batchMaxRows: number;
  };
  webhooks: { allowedHosts: string[]; timeoutMs: number; attempts: number; backoffMs: number };
};

type JobsEnv = z.output<z.ZodObject<typeof JOBS_ENV>>;

export function jobsConfigFrom(e: JobsEnv): JobsSettings {
  return {
    jobs: {
      run: e.RUN_JOBS === 'true',
      concurrency: e.JOB_CONCURRENCY,
      attempts: e.JOB_ATTEMPTS,
      backoffMs: e.JOB_BACKOFF_MS,
      lockMs: e.JOB_LOCK_MS,
      sweepIntervalMs: e.JOB_SWEEP_INTERVAL_MS,
      sweepStaleMs: e.JOB_SWEEP_STALE_MS,
      streamRecheckMs: e.PREDICTION_STREAM_RECHECK_MS,
      queuePrefix: e.QUEUE_PREFIX,
      dataRetentionMs: e.PREDICTION_DATA_RETENTION_HOURS * 3_600_000,
      batchMaxRows: e.BATCH_MAX_ROWS,
    },
    webhooks: {
      allowedHosts: e.WEBHOOK_ALLOWED_HOSTS.split(',')
        .map((h) => h.trim())
        .filter(Boolean),
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      attempts: e.WEBHOOK_ATTEMPTS,
      backoffMs: e.WEBHOOK_BACKOFF_MS,
    },
  };
}
