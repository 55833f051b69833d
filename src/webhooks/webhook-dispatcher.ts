import { randomUUID } from 'node:crypto';
import type { JobQueue } from '../jobs/job-queue.js';
import { UnrecoverableJobError } from '../jobs/job-queue.js';
import type { Logger } from '../shared/logger.js';
import { sendWebhook } from './webhook-sender.js';
import type { WebhookAllowList } from './webhook-target.js';

/** A queued delivery: no secret inside (it is read when sending, so a rotation applies at once). */
export type WebhookJob = {
  eventId: string;
  userId: string;
  url: string;
  /** The exact JSON body; the same bytes on every retry, so receivers can deduplicate. */
  body: string;
};

export type WebhookEvent = { type: string; timestamp: string; data: Record<string, unknown> };

export type WebhookDispatcherOptions = {
  queue: JobQueue<WebhookJob>;
  /** The user's current `whsec_` secret (created on first need). */
  secretFor: (userId: string) => Promise<string>;
  allow: WebhookAllowList;
  logger: Logger;
  timeoutMs: number;
  attempts: number;
  backoffMs: number;
  concurrency: number;
};

/**
 * Delivers webhook events at least once, with retries on the job queue (exponential backoff,
 * bounded attempts). Every attempt is logged with its event id, attempt number, status and
 * duration; a URL the SSRF guard refuses fails at once without retries. The `webhook-id` is the
 * event id, stable across retries, so receivers drop duplicates (Standard Webhooks).
 */
export class WebhookDispatcher {
  constructor(private readonly options: WebhookDispatcherOptions) {}

  /** `dispatch` of a `type` event with `data`, stamped now: what the app's event sources send. */
  async send(userId: string, url: string, type: string, eventId: string, data: Record<string, unknown>): Promise<void> {
    await this.dispatch(userId, url, { type, timestamp: new Date().toISOString(), data }, eventId);
  }

  /** Queues an event for `url`. `eventId` makes it idempotent (e.g. `<predictionId>.completed`). */
  async dispatch(userId: string, url: string, event: WebhookEvent, eventId = `evt_${randomUUID()}`): Promise<string> {
    const body = JSON.stringify(event);
    await this.options.queue.add(
      eventId,
      { eventId, userId, url, body },
      {
        attempts: this.options.attempts,
        backoffMs: this.options.backoffMs,
      },
    );
    return eventId;
  }

  /** Starts delivering in this process (API or worker, whichever runs the queue). */
  start(): void {
    const { queue, logger } = this.options;
    queue.process(
      async (job) => {
        const secret = await this.options.secretFor(job.data.userId);
        const attempt = await sendWebhook({
          url: job.data.url,
          secret,
          eventId: job.data.eventId,
          body: job.data.body,
          allow: this.options.allow,
          timeoutMs: this.options.timeoutMs,
        });
        const line = {
          eventId: job.data.eventId,
          userId: job.data.userId,
          attempt: job.attempt,
          of: job.maxAttempts,
          status: attempt.status ?? null,
          durationMs: attempt.durationMs,
        };
        if (attempt.ok) {
          logger.info(line, 'webhook delivered');
          return;
        }
        logger.warn({ ...line, error: attempt.error }, 'webhook attempt failed');
        if (attempt.permanent) throw new UnrecoverableJobError(attempt.error ?? 'refused');
        throw new Error(attempt.error ?? 'delivery failed');
      },
      {
        concurrency: this.options.concurrency,
        onFailed: (job, error) => {
          logger.error(
            { eventId: job.data.eventId, userId: job.data.userId, attempts: job.attempt, error: error.message },
            'webhook given up',
          );
        },
      },
    );
  }
}
