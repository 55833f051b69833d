import { PredictionStatus } from '../entities/enums.js';
import type { Prediction } from '../entities/prediction.entity.js';
import type { PredictionEventPayload } from '../subscriptions/topics.js';
import type { PredictionFields } from './prediction-fields.js';

const SHARED_READ_MS = 5000;

/**
 * One read per event per process, shared by every subscriber it reaches. Without it an event
 * fanned out to 5,000 sockets ran 5,000 identical SELECTs. Sharing is safe: the event reaches a
 * subscriber only through a topic keyed by that subscriber's own prediction or user id, so
 * everyone sharing a read may see it; the row is read with a fresh fork (a subscription outlives
 * any identity map) and not mutated by resolvers. Entries live a few seconds: an event's readers
 * all arrive within one fan-out. A failed read is not kept: the next subscriber tries again.
 */
export class SharedReads {
  private readonly reads = new Map<string, Promise<Prediction | null>>();

  read(key: string, load: () => Promise<Prediction | null>): Promise<Prediction | null> {
    let read = this.reads.get(key);
    if (!read) {
      read = load();
      this.reads.set(key, read);
      setTimeout(() => this.reads.delete(key), SHARED_READ_MS).unref();
      read.catch(() => this.reads.delete(key));
    }
    return read;
  }
}

/**
 * The prediction as the event describes it. The row is read when the event is delivered, and a
 * job moves on quickly: a RUNNING event read after the job finished would otherwise show as
 * SUCCEEDED, and the client would see SUCCEEDED twice. So the event's status wins, and the
 * fields that status could not have yet (timings, cost, error, outputs) are left out.
 */
export function asOfEvent(p: Prediction, event: PredictionEventPayload): PredictionFields {
  const status = event.status;
  if ((p.status as PredictionStatus) === status) return p;
  const started = status !== PredictionStatus.QUEUED;
  const succeeded = status === PredictionStatus.SUCCEEDED;
  const failed = status === PredictionStatus.FAILED || status === PredictionStatus.CANCELED;
  return {
    id: p.id,
    status,
    mode: p.mode,
    device: started ? p.device : null,
    batchSize: succeeded ? p.batchSize : null,
    createdAt: p.createdAt,
    startedAt: started ? p.startedAt : null,
    completedAt: succeeded || failed ? p.completedAt : null,
    queueTimeMs: started ? p.queueTimeMs : null,
    inferenceTimeMs: succeeded ? p.inferenceTimeMs : null,
    errorCode: failed ? p.errorCode : null,
    errorMessage: failed ? p.errorMessage : null,
    unitPrice: succeeded ? p.unitPrice : null,
    cost: succeeded ? p.cost : null,
    currency: p.currency,
    dataRemovedAt: p.dataRemovedAt,
    dataRetentionSeconds: p.dataRetentionSeconds,
    model: p.model,
    version: p.version,
  };
}
