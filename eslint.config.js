// ESLint 9 flat config: @eslint/js recommended + typescript-eslint's type-aware recommended set.
// Type information comes from the TypeScript project service (tsconfig.json), which also tells
// `consistent-type-imports` that experimentalDecorators + emitDecoratorMetadata are on.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Plain JS files (jest.config.js, eslint.config.js, scripts/*.mjs) run on the Node that runs
// ESLint, so its own globals are the right set; no extra `globals` dependency needed.
const nodeGlobals = Object.fromEntries(Object.getOwnPropertyNames(globalThis).map((name) => [name, 'readonly']));

// The only files allowed a default export: modules that a tool loads by its default export.
const defaultExportFiles = [
  'eslint.config.js',
  'jest.config.js',
  'jest.config.ts',
  'jest.chaos.config.js',
  'codegen.ts',
  // Jest calls the default export of globalSetup / globalTeardown modules.
  'test/support/global-setup.ts',
  'test/support/global-teardown.ts',
  'test/chaos/support/global-setup.ts',
  'test/chaos/support/global-teardown.ts',
  // Jest loads custom reporters by their default export.
  'test/support/summary-reporter.js',
  // Type declarations for a package whose real module has a default export.
  'bench/support/autocannon.d.ts',
];

export default defineConfig(
  globalIgnores([
    'node_modules/',
    'dist/',
    '.tools/',
    '.data/',
    '.device/',
    'coverage/',
    'bench/results/',
    'test-artifacts/',
    'playground/dist/',
    // Generated: codegen output and MikroORM migrations are never edited by hand.
    'test/generated/**',
    'migrations/**',
  ]),

  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,

  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
        // Inferred from tsconfig.json when type information is present; stated here too so that
        // consistent-type-imports never turns a class used in decorator metadata (type-graphql
        // `@Arg('input') input: CreateModelInput`) into an `import type`, which would erase it
        // at run time. The rule skips files that have decorators when both are on.
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: true },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      // Express 5 and graphql-ws take async callbacks and handle their rejections themselves.
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      // Resolvers and services are often `async` for a uniform Promise-returning signature
      // (type-graphql, DataLoader batch functions, BullMQ processors) without awaiting anything.
      '@typescript-eslint/require-await': 'off',
      // Same convention as tsc's noUnusedParameters: a leading underscore marks "unused on purpose".
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ExportDefaultDeclaration',
          message: 'Use named exports (see CONVENTIONS.md); default exports are for tool config files only.',
        },
        {
          selector: "ExportSpecifier[exported.name='default']",
          message: 'Use named exports (see CONVENTIONS.md); default exports are for tool config files only.',
        },
      ],
    },
  },

  {
    files: defaultExportFiles,
    rules: { 'no-restricted-syntax': 'off' },
  },

  // JavaScript files are outside tsconfig.json (no allowJs): lint them without type information.
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: nodeGlobals },
    rules: { '@typescript-eslint/consistent-type-imports': 'off' },
  },

  // End-to-end tests handle raw GraphQL responses (`body.data`, JSON payloads) whose types are
  // only as good as the documents; flag unsafe access there without failing the build.
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'warn',
      '@typescript-eslint/no-unsafe-assignment': 'warn',
      '@typescript-eslint/no-unsafe-call': 'warn',
      '@typescript-eslint/no-unsafe-member-access': 'warn',
      '@typescript-eslint/no-unsafe-return': 'warn',
    },
  },
);
