/**
 * Text analysis for the lexical index: text -> terms. NFKC normalisation and lower-case folding,
 * word segmentation by Intl.Segmenter (Unicode UAX #29), words split further at inner punctuation
 * ("covid-19" -> "covid", "19"; "3.5" -> "3", "5"), stop words removed (the `stopword` package's
 * list) and the Snowball stemmer applied (`snowball-stemmers`).
 *
 * Segmentation cost: ICU's segmenter costs ~7 µs per word in Node, more than everything else here
 * together. Splitting word-like segments at every non-letter/mark/digit makes its output equal to
 * the maximal runs of letters, marks and digits, except in scripts written without spaces (Han,
 * kana, Thai, Lao, Khmer, Myanmar), where it splits runs into dictionary words. So text with none
 * of those scripts takes the equivalent regular expression, and the rest the segmenter (the
 * equivalence is tested in test/lexical/analyzer.test.ts).
 *
 * The analyzer is named and versioned: the index stores the version each chunk was analysed with,
 * and a change to anything here that alters terms must bump ANALYZER_VERSION so that
 * `memvault reindex lexical` re-analyses the chunks indexed under the old one.
 */
import { newStemmer } from 'snowball-stemmers';
import { eng as englishStopWords } from 'stopword';

export const ANALYZER_NAME = 'english';
/** Bump on any change that alters the terms of some text (stored per chunk; see reindex). */
export const ANALYZER_VERSION = 1;

/** Terms longer than this (in UTF-16 units) are dropped: hashes, base64, run-on garbage. */
export const MAX_TERM_LENGTH = 64;

export interface Analyzer {
  readonly name: string;
  readonly version: number;
  /** Every term of `text`, in order, repeats kept (term frequency counts them). */
  terms(text: string): string[];
}

// Inside a word segment, anything but letters, marks and digits separates terms: the BM25
// reference (src/eval/bm25.ts) splits "covid-19" and "3.5" the same way, and it measured better
// than keeping UAX #29's joined forms (docs/RETRIEVAL.md).
const INNER_SEPARATOR = /[^\p{L}\p{M}\p{N}]+/u;
// A word starts with a letter or digit: a combining mark with nothing to combine with (after a
// space or punctuation) is no word, in either path.
const WORD_RUN = /[\p{L}\p{N}][\p{L}\p{M}\p{N}]*/gu;
const LEADING_MARKS = /^\p{M}+/u;
const NEEDS_DICTIONARY_SEGMENTATION =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

class EnglishAnalyzer implements Analyzer {
  readonly name = ANALYZER_NAME;
  readonly version = ANALYZER_VERSION;
  readonly #segmenter = new Intl.Segmenter('en', { granularity: 'word' });
  readonly #stemmer = newStemmer('english');
  readonly #stopWords = new Set(englishStopWords);
  /** Stems of frequent words repeat across chunks; caching them halves the analysis time. */
  readonly #stems = new Map<string, string>();

  terms(text: string): string[] {
    const out: string[] = [];
    for (const word of this.words(text)) {
      if (word.length > MAX_TERM_LENGTH || this.#stopWords.has(word)) continue;
      out.push(this.#stem(word));
    }
    return out;
  }

  /** The folded words of `text`, before stop words and stemming. */
  words(text: string): string[] {
    const folded = text.normalize('NFKC').toLowerCase();
    if (!NEEDS_DICTIONARY_SEGMENTATION.test(folded)) return folded.match(WORD_RUN) ?? [];
    return this.segmentedWords(folded);
  }

  /** Words by Intl.Segmenter (UAX #29 plus ICU's dictionaries), split at inner punctuation. */
  segmentedWords(folded: string): string[] {
    const out: string[] = [];
    for (const segment of this.#segmenter.segment(folded)) {
      if (!segment.isWordLike) continue;
      for (const part of segment.segment.split(INNER_SEPARATOR)) {
        const word = part.replace(LEADING_MARKS, '');
        if (word !== '') out.push(word);
      }
    }
    return out;
  }

  #stem(word: string): string {
    let stem = this.#stems.get(word);
    if (stem === undefined) {
      stem = this.#stemmer.stem(word);
      if (this.#stems.size >= 100_000) this.#stems.clear();
      this.#stems.set(word, stem);
    }
    return stem;
  }
}

let english: Analyzer | undefined;

/** The default (and for now only) analyzer. */
export function defaultAnalyzer(): Analyzer {
  english ??= new EnglishAnalyzer();
  return english;
}

/** Term frequencies of one text: term -> count, and the text's length in terms. */
export function termFrequencies(
  analyzer: Analyzer,
  text: string,
): { tf: Map<string, number>; length: number } {
  const tf = new Map<string, number>();
  const terms = analyzer.terms(text);
  for (const term of terms) tf.set(term, (tf.get(term) ?? 0) + 1);
  return { tf, length: terms.length };
}
