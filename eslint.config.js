// @ts-check
import js from '@eslint/js';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import tseslint from 'typescript-eslint';

/**
 * The layers of docs/ARCHITECTURE.md, enforced: files under src/<layer>/ may not import what a
 * layer forbids (patterns match the import specifier, `../<folder>/...` from a flat layer folder),
 * and only src/db/ imports `pg` or `pg-listen`. ESLint takes the last block's options for a rule,
 * so each layer block repeats the `pg` restriction.
 */
const ONLY_DB_IMPORTS_PG = [
  { name: 'pg', message: 'Only src/db imports pg (docs/ARCHITECTURE.md): add a typed wrapper there.' },
  { name: 'pg-listen', message: 'Only src/db imports pg-listen (docs/ARCHITECTURE.md).' },
];
const WIRING = ['../config.js', '../daemon.js'];
const layerRule = (layer, forbiddenFolders, forbiddenFiles = []) => ({
  files: [`src/${layer}/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        paths: layer === 'db' ? [] : ONLY_DB_IMPORTS_PG,
        patterns: [
          {
            group: [...forbiddenFolders.map((folder) => `../${folder}/*`), ...forbiddenFiles],
            message: `src/${layer} may not import this: dependencies point down the layers (docs/ARCHITECTURE.md).`,
          },
        ],
      },
    ],
  },
});
const ABOVE_USE_CASES = ['http', 'cli', 'mcp'];

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
    rules: { 'no-restricted-imports': ['error', { paths: ONLY_DB_IMPORTS_PG }] },
  },
  layerRule(
    'crypto',
    ['db', 'keys', 'memory', 'rerank', 'embed', 'inference', 'models', ...ABOVE_USE_CASES],
    WIRING,
  ),
  layerRule('inference', ['crypto', 'db', 'keys', 'memory', 'rerank', 'embed', ...ABOVE_USE_CASES], WIRING),
  layerRule('embed', ['crypto', 'db', 'keys', 'memory', 'rerank', ...ABOVE_USE_CASES], WIRING),
  layerRule('rerank', ['crypto', 'keys', 'memory', 'embed', ...ABOVE_USE_CASES], WIRING),
  layerRule('db', ['keys', 'memory', 'rerank', 'embed', 'inference', ...ABOVE_USE_CASES], WIRING),
  layerRule('keys', ['memory', ...ABOVE_USE_CASES], WIRING),
  layerRule('memory', ABOVE_USE_CASES, WIRING),
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
