import type { CodegenConfig } from '@graphql-codegen/cli'

/**
 * Types for every document in src/ come from the server's exported schema file (not its
 * URL): `npm run codegen` after `townsquare export-schema > schema.graphql`.
 */
const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**/*', '!src/**/*.test.{ts,tsx}'],
  ignoreNoDocuments: true,
  generates: {
    './src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        // Unions of string literals instead of TS enums: `erasableSyntaxOnly` forbids enums.
        enumsAsTypes: true,
        scalars: { DateTime: 'string' },
        skipTypename: false,
      },
    },
  },
}

export default config
