/** The lexical side of retrieval: text analysis and keyed postings (docs/RETRIEVAL.md). */
export {
  ANALYZER_NAME,
  ANALYZER_VERSION,
  type Analyzer,
  defaultAnalyzer,
  termFrequencies,
} from './analyzer.js';
export { type LexicalBatch, lexicalBatch, queryTokens, textPostings, type TextPostings } from './postings.js';
