// Types for every operation the console sends, generated from the server's
// schema (../schema.graphql, the one the server checks in): the client
// preset writes typed document nodes to src/gql/, so no API type is
// written by hand. `npm run codegen` (every build runs it first).
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../schema.graphql',
  documents: ['src/**/*.tsx', 'src/**/*.ts', '!src/gql/**'],
  ignoreNoDocuments: false,
  silent: true,
  generates: {
    './src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', ID: 'string', JSON: 'unknown' },
        strictScalars: true,
        defaultScalarType: 'unknown',
      },
    },
  },
};

export default config;
