import { ApiKeyScope, PredictionStatus, Role } from '../entities/enums.js';
import { Model } from '../entities/model.entity.js';
import { notFound } from '../shared/errors.js';
import type { ServiceContext } from '../shared/service-context.js';
import { requireUser } from '../auth/access.js';
import { reportRange } from './report-range.js';
import { UUID } from '../shared/ids.js';

export type LatencyPercentiles = { p50: number | null; p95: number | null; p99: number | null };
export type DailyAnalytics = { day: string; predictions: number; succeeded: number; failed: number };
export type RecentError = { predictionId: string; code: string | null; message: string | null; at: Date };
export type ModelAnalytics = {
  modelId: string;
  periodStart: Date;
  periodEnd: Date;
  predictions: number;
  succeeded: number;
  failed: number;
  /** succeeded / (succeeded + failed); null when nothing finished. */
  successRate: number | null;
  latencyMs: LatencyPercentiles;
  daily: DailyAnalytics[];
  recentErrors: RecentError[];
};

const RECENT_ERRORS = 10;

/**
 * A model's operational figures over `[from, to)`, for its owner and admins, computed in SQL from
 * predictions (served by `predictions_model_created_at_index`). Latency is inference time of
 * succeeded predictions; percentiles are PostgreSQL's `percentile_cont` (interpolated).
 */
export class AnalyticsService {
  async modelAnalytics(
    ctx: ServiceContext,
    args: { modelId: string; from?: Date | null; to?: Date | null },
  ): Promise<ModelAnalytics> {
    // Operational figures, not money: an API key needs `models:read`, not `billing:read`.
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.MODELS_READ });
    const model = UUID.test(args.modelId) ? await ctx.em.findOne(Model, args.modelId) : null;
    // Someone else's model reads as absent: analytics are not public, and neither is their existence.
    if (!model || (model.owner.id !== caller.userId && caller.role !== Role.ADMIN)) throw notFound('Model');
    const { from, to } = reportRange(args.from, args.to);
    const where = 'p.model_id = ? and p.created_at >= ? and p.created_at < ?';
    const params = [model.id, from, to];
    type SummaryRow = {
      total: string;
      succeeded: string;
      failed: string;
      p50: number | null;
      p95: number | null;
      p99: number | null;
    };
    const [summary] = (await ctx.em.execute<SummaryRow[]>(
      `select count(*) as total,
         count(*) filter (where p.status = ?) as succeeded,
         count(*) filter (where p.status = ?) as failed,
         percentile_cont(0.5) within group (order by p.inference_time_ms) filter (where p.status = ?) as p50,
         percentile_cont(0.95) within group (order by p.inference_time_ms) filter (where p.status = ?) as p95,
         percentile_cont(0.99) within group (order by p.inference_time_ms) filter (where p.status = ?) as p99
       from predictions p where ${where}`,
      [
        PredictionStatus.SUCCEEDED,
        PredictionStatus.FAILED,
        PredictionStatus.SUCCEEDED,
        PredictionStatus.SUCCEEDED,
        PredictionStatus.SUCCEEDED,
        ...params,
      ],
    )) as [SummaryRow];
    const daily = await ctx.em.execute<{ day: string; total: string; succeeded: string; failed: string }[]>(
      `select to_char(date_trunc('day', p.created_at at time zone 'UTC'), 'YYYY-MM-DD') as day, count(*) as total,
         count(*) filter (where p.status = ?) as succeeded, count(*) filter (where p.status = ?) as failed
       from predictions p where ${where} group by 1 order by 1`,
      [PredictionStatus.SUCCEEDED, PredictionStatus.FAILED, ...params],
    );
    const errors = await ctx.em.execute<
      { id: string; error_code: string | null; error_message: string | null; at: Date }[]
    >(
      `select p.id, p.error_code, p.error_message, coalesce(p.completed_at, p.created_at) as at
       from predictions p where ${where} and p.status = ?
       order by p.created_at desc, p.id desc limit ${RECENT_ERRORS}`,
      [...params, PredictionStatus.FAILED],
    );
    const succeeded = Number(summary.succeeded);
    const failed = Number(summary.failed);
    const num = (v: number | string | null) => (v === null ? null : Number(v));
    return {
      modelId: model.id,
      periodStart: from,
      periodEnd: to,
      predictions: Number(summary.total),
      succeeded,
      failed,
      successRate: succeeded + failed > 0 ? succeeded / (succeeded + failed) : null,
      latencyMs: { p50: num(summary.p50), p95: num(summary.p95), p99: num(summary.p99) },
      daily: daily.map((d) => ({
        day: d.day,
        predictions: Number(d.total),
        succeeded: Number(d.succeeded),
        failed: Number(d.failed),
      })),
      recentErrors: errors.map((e) => ({
        predictionId: e.id,
        code: e.error_code,
        message: e.error_message,
        at: new Date(e.at),
      })),
    };
  }
}
