import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the operations in test/operations/ (the ones the tests and a front end
 * use): `npm run codegen` writes them, `npm run codegen:check` fails when they are stale.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/operations/**/*.graphql'],
  ignoreNoDocuments: false,
  // ES module output: relative imports carry their .js extension (NodeNext resolution).
  emitLegacyCommonJSImports: false,
  generates: {
    'test/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        strictScalars: true,
        // Upload: the multipart spec sends `null` in the variables and the file in its own part.
        scalars: { DateTime: 'string', ID: 'string', Upload: 'File | Blob | null', JSON: 'unknown' },
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: true,
      },
    },
  },
};

export default config;
