import { GraphQLScalarType } from 'graphql';
import { GraphQLUpload, type FileUpload } from 'graphql-upload-ts';
import { AppError, badInput, ErrorCode } from '../../shared/errors.js';

/**
 * graphql-upload-ts's `Upload` scalar (same name and description, so the schema is unchanged),
 * whose promise rejects with an AppError. type-graphql awaits promise arguments before the
 * resolver runs, so the upload's own failures (a file part missing from the request, the body
 * cut short, too many files) never reach the service's error handling: unconverted, they were
 * masked as INTERNAL_SERVER_ERROR. Every one of them is about the request the client sent.
 */
export const UploadScalar = new GraphQLScalarType<Promise<FileUpload>, never>({
  ...GraphQLUpload.toConfig(),
  parseValue(value) {
    const converted = GraphQLUpload.parseValue(value).catch((err: unknown) => {
      const status = (err as { status?: unknown } | null)?.status;
      const message = err instanceof Error ? err.message : String(err);
      if (status === 413) throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, message, { field: 'file' });
      throw badInput(`The upload did not arrive whole: ${message}`, { field: 'file' });
    });
    // Nobody awaits it when the operation fails first (authorization, say): not an unhandled rejection.
    converted.catch(() => undefined);
    return converted;
  },
});
