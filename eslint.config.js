// @ts-check
import js from '@eslint/js';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import tseslint from 'typescript-eslint';

/**
 * The layers of docs/ARCHITECTURE.md, enforced: files under src/<layer>/ may not import what a
 * layer forbids (patterns match the import specifier, `../<folder>/...` from a flat layer folder),
 * only src/db/ imports `pg`, `pg-listen` or `pg-connection-string`, and only src/db/ holds SQL text (the raw `call` of
 * db/procedures.ts is for its typed wrappers). ESLint takes the last block's options for a rule, so
 * each layer block repeats the restrictions every file has.
 */
const ONLY_DB_IMPORTS_PG = [
  { name: 'pg', message: 'Only src/db imports pg (docs/ARCHITECTURE.md): add a typed wrapper there.' },
  { name: 'pg-listen', message: 'Only src/db imports pg-listen (docs/ARCHITECTURE.md).' },
  {
    name: 'pg-connection-string',
    message: 'Only src/db imports pg-connection-string (docs/ARCHITECTURE.md).',
  },
];
const SQL_STAYS_IN_DB = {
  group: ['**/db/procedures.js'],
  importNames: ['call'],
  message: 'SQL text lives in src/db (docs/ARCHITECTURE.md): add a typed wrapper there and import that.',
};
const OUTSIDE_DB = { paths: ONLY_DB_IMPORTS_PG, patterns: [SQL_STAYS_IN_DB] };
// Crypto does no I/O: keys come in as arguments or through configureCrypto.
const IO_MODULES = ['fs', 'fs/promises', 'net', 'http', 'https', 'child_process', 'worker_threads', 'dns'];
const NO_IO = IO_MODULES.flatMap((name) =>
  [name, `node:${name}`].map((spec) => ({
    name: spec,
    message: 'src/crypto does no I/O (docs/ARCHITECTURE.md).',
  })),
);
const WIRING = ['../config.js', '../daemon.js'];
const layerRule = (layer, forbiddenFolders, forbiddenFiles = [], extraPaths = []) => ({
  files: [`src/${layer}/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        paths: [...(layer === 'db' ? [] : ONLY_DB_IMPORTS_PG), ...extraPaths],
        patterns: [
          ...(layer === 'db' ? [] : [SQL_STAYS_IN_DB]),
          {
            group: [...forbiddenFolders.map((folder) => `../${folder}/*`), ...forbiddenFiles],
            message: `src/${layer} may not import this: dependencies point down the layers (docs/ARCHITECTURE.md).`,
          },
        ],
      },
    ],
  },
});
const ABOVE_USE_CASES = ['api', 'http', 'cli', 'mcp', 'bench', 'eval'];
const SERVICES = ['crypto', 'db', 'keys', 'memory', 'rerank', 'embed', 'inference'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tap/**', 'shared/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: false } },
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      'simple-import-sort/imports': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // Everything outside src/db (the layer blocks below narrow this further).
    files: ['src/**/*.ts'],
    ignores: ['src/db/**'],
    rules: { 'no-restricted-imports': ['error', OUTSIDE_DB] },
  },
  layerRule(
    'crypto',
    ['db', 'keys', 'memory', 'rerank', 'embed', 'inference', 'models', ...ABOVE_USE_CASES],
    WIRING,
    NO_IO,
  ),
  {
    files: ['src/crypto/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'src/crypto reads no environment: take the variables as an argument.' },
      ],
    },
  },
  layerRule('models', [...SERVICES, ...ABOVE_USE_CASES], WIRING),
  layerRule(
    'lexical',
    ['db', 'keys', 'memory', 'rerank', 'embed', 'inference', 'models', ...ABOVE_USE_CASES],
    WIRING,
  ),
  layerRule('inference', ['crypto', 'db', 'keys', 'memory', 'rerank', 'embed', ...ABOVE_USE_CASES], WIRING),
  layerRule('embed', ['crypto', 'db', 'keys', 'memory', 'rerank', ...ABOVE_USE_CASES], WIRING),
  layerRule('rerank', ['crypto', 'keys', 'memory', 'embed', ...ABOVE_USE_CASES], WIRING),
  layerRule('db', ['keys', 'memory', 'rerank', 'embed', 'inference', ...ABOVE_USE_CASES], WIRING),
  layerRule('keys', ['memory', ...ABOVE_USE_CASES], WIRING),
  // The use cases get their key store from the caller (MemoryContext.keys), never build one.
  layerRule('memory', ['keys', ...ABOVE_USE_CASES], WIRING),
  layerRule('api', ['http', 'cli', 'mcp', 'bench', 'eval'], WIRING),
  {
    // memvault/client is imported by applications: it must not load the server (pg, onnxruntime)
    // nor any package, only Node's own modules and its siblings.
    files: ['src/client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!node:|\\./)',
              message:
                'memvault/client imports only node: modules and ./ siblings (no dependencies, no server code).',
            },
          ],
        },
      ],
    },
  },
);
