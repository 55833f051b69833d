import {
  getOperationAST,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLError,
  type GraphQLFormattedError,
} from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { operationDisplayName } from '../graphql/operation-name.js';
import { graphqlErrors, graphqlOperationDuration, operationLabel } from '../observability/metrics.js';
import { requestIdFrom } from '../observability/request-id.js';
import type { Caller } from '../shared/caller.js';
import type { Logger } from '../shared/logger.js';

type FormatError = (formatted: GraphQLFormattedError, error: unknown, requestId?: string) => GraphQLFormattedError;

type Operation = { requestId: string; started: number; name?: string; type: string; codes: string[] };

/**
 * What Apollo's plugins and formatError do for HTTP, for graphql-ws operations (which they never
 * reach, apollo-server#6492): each operation gets a request id (the client's
 * `extensions.requestId` when well-formed, else a fresh one), every error it sends goes through
 * the one error formatter with that id, and one log line and the metrics record it when it ends.
 * Operations are kept per connection object, so a closed connection's entries go with it.
 */
export function websocketOperations<C extends object>(options: {
  logger: Logger;
  formatError: FormatError;
  callerOf: (ctx: C) => Caller;
}) {
  const byConnection = new WeakMap<C, Map<string, Operation>>();
  const get = (ctx: C, id: string) => byConnection.get(ctx)?.get(id);

  const format = (ctx: C, id: string, errors: readonly GraphQLError[]) => {
    const op = get(ctx, id);
    return errors.map((e) => {
      // An error thrown by a subscription's stream arrives wrapped (originalError): format the cause.
      const formatted = options.formatError(e.toJSON(), e.originalError ?? e, op?.requestId);
      op?.codes.push(typeof formatted.extensions?.code === 'string' ? formatted.extensions.code : 'UNKNOWN');
      return formatted;
    });
  };

  const finish = (ctx: C, id: string) => {
    const op = get(ctx, id);
    if (!op) return;
    byConnection.get(ctx)?.delete(id);
    const seconds = (performance.now() - op.started) / 1000;
    const label = operationLabel(op.name);
    graphqlOperationDuration.observe({ operation: label, type: op.type, transport: 'ws' }, seconds);
    for (const code of op.codes) graphqlErrors.inc({ code, operation: label });
    const caller = options.callerOf(ctx);
    options.logger.info(
      {
        requestId: op.requestId,
        transport: 'ws',
        operationId: id,
        operation: op.name ?? null,
        type: op.type,
        callerId: caller.kind === 'user' ? caller.userId : null,
        apiKeyId: caller.kind === 'user' ? (caller.apiKeyId ?? null) : null,
        durationMs: Math.round(seconds * 1000 * 10) / 10,
        errors: op.codes.length ? op.codes : undefined,
      },
      'graphql operation',
    );
  };

  return {
    /** First thing in onSubscribe: the operation's request id. */
    begin(ctx: C, id: string, payload: SubscribePayload): string {
      const requestId = requestIdFrom(payload.extensions?.requestId);
      let ops = byConnection.get(ctx);
      if (!ops) byConnection.set(ctx, (ops = new Map<string, Operation>()));
      ops.set(id, {
        requestId,
        started: performance.now(),
        name: payload.operationName ?? undefined,
        type: 'unknown',
        codes: [],
      });
      return requestId;
    },

    /** Once the guard accepted the operation: its type and name (root fields when unnamed). */
    resolved(ctx: C, id: string, args: ExecutionArgs): void {
      const op = get(ctx, id);
      const ast = getOperationAST(args.document, args.operationName);
      if (!op || !ast) return;
      op.type = ast.operation;
      op.name = operationDisplayName(args.operationName, ast, args.document);
    },

    requestIdOf(ctx: C, id: string): string | undefined {
      return get(ctx, id)?.requestId;
    },

    /** graphql-ws `onNext`: execution errors formatted as over HTTP. */
    onNext(
      ctx: C,
      id: string,
      _payload: unknown,
      _args: unknown,
      result: ExecutionResult,
    ): FormattedExecutionResult | undefined {
      if (!result.errors?.length) return undefined;
      return { ...result, errors: format(ctx, id, result.errors) };
    },

    /** graphql-ws `onError` (refused in onSubscribe, or the stream failed): formatted, then the operation ends. */
    onError(ctx: C, id: string, _payload: unknown, errors: readonly GraphQLError[]): GraphQLFormattedError[] {
      const formatted = format(ctx, id, errors);
      finish(ctx, id);
      return formatted;
    },

    /** graphql-ws `onComplete`. */
    onComplete(ctx: C, id: string): void {
      finish(ctx, id);
    },
  };
}
