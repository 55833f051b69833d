import type { Prediction } from '../entities/prediction.entity.js';

/**
 * What the GraphQL `Prediction` type reads from its root. A Prediction entity has all of it; so
 * does the plain object `predict` builds from the row it just recorded, which spares the hot
 * path hydrating an entity into the request's identity map (a tenth of the API thread's CPU
 * under load, we measured) only for the response to read eleven fields.
 */
export type PredictionFields = Pick<
  Prediction,
  | 'id'
  | 'status'
  | 'mode'
  | 'device'
  | 'batchSize'
  | 'createdAt'
  | 'startedAt'
  | 'completedAt'
  | 'queueTimeMs'
  | 'inferenceTimeMs'
  | 'errorCode'
  | 'errorMessage'
  | 'unitPrice'
  | 'cost'
  | 'currency'
  | 'dataRemovedAt'
  | 'dataRetentionSeconds'
> & { model: { id: string }; version: { id: string } };
