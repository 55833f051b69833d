import type { FileUpload } from 'graphql-upload-ts';
import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { VersionService } from '../catalog/version.service.js';
import { ApiKeyScope } from '../entities/enums.js';
import type { GraphQLContext } from '../graphql/context.js';
import { ModelVersionType } from './types/model-version.type.js';
import { UploadScalar } from './types/upload.scalar.js';
import { VersionMetadataInput } from './types/version-metadata.input.js';

/** Uploads, default version and deprecation; everything else lives in VersionService. */
@Resolver(() => ModelVersionType)
export class VersionResolver {
  constructor(private readonly versions: VersionService) {}

  @Authorized(ApiKeyScope.MODELS_WRITE)
  @Mutation(() => ModelVersionType, {
    description:
      'Uploads an ONNX file as a new version (GraphQL multipart request; send `apollo-require-preflight: true`). ' +
      'Returns it PROCESSING; follow `modelVersionStatusChanged` (or poll) until READY or FAILED.',
  })
  async uploadModelVersion(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelId', () => ID) modelId: string,
    @Arg('version', () => String, { description: 'Semantic version, greater than every existing one.' })
    version: string,
    @Arg('file', () => UploadScalar) file: Promise<FileUpload>,
    @Arg('changelog', () => String, { nullable: true }) changelog?: string | null,
  ) {
    return this.versions.upload(ctx, { modelId, version, file, changelog });
  }

  @Authorized(ApiKeyScope.MODELS_WRITE)
  @Mutation(() => ModelVersionType, { description: 'Makes a READY version the default; an older one rolls back.' })
  async setDefaultVersion(@Ctx() ctx: GraphQLContext, @Arg('versionId', () => ID) versionId: string) {
    const version = await this.versions.setDefault(ctx, versionId);
    ctx.loaders.model.clear(version.model.id);
    return version;
  }

  @Authorized(ApiKeyScope.MODELS_WRITE)
  @Mutation(() => ModelVersionType, {
    description:
      "Describes a READY (or DEPRECATED) version's inputs and outputs for consumers: descriptions, an example input, preprocessing notes, class labels. Replaces what was set before; checked against the signature.",
  })
  updateVersionMetadata(
    @Ctx() ctx: GraphQLContext,
    @Arg('versionId', () => ID) versionId: string,
    @Arg('metadata', () => VersionMetadataInput) metadata: VersionMetadataInput,
  ) {
    return this.versions.updateMetadata(ctx, versionId, metadata);
  }

  @Authorized(ApiKeyScope.MODELS_WRITE)
  @Mutation(() => ModelVersionType, {
    description: 'DEPRECATED versions keep serving pinned clients; new unpinned predictions are refused.',
  })
  async deprecateVersion(@Ctx() ctx: GraphQLContext, @Arg('versionId', () => ID) versionId: string) {
    return this.versions.deprecate(ctx, versionId);
  }

  @Authorized(ApiKeyScope.MODELS_WRITE)
  @Mutation(() => Boolean, {
    description:
      'Deletes a version nothing depends on (FAILED, or READY, never run and not the default) and its file; its number can be uploaded again. A version with predictions: deprecate it instead (CONFLICT).',
  })
  deleteModelVersion(@Ctx() ctx: GraphQLContext, @Arg('versionId', () => ID) versionId: string) {
    return this.versions.remove(ctx, versionId);
  }
}
