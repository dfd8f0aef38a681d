// snowball-stemmers and stopword ship no types; these are the parts of their APIs the analyzer uses.
declare module 'snowball-stemmers' {
  export interface Stemmer {
    stem(word: string): string;
  }
  export function newStemmer(algorithm: string): Stemmer;
  export function algorithms(): string[];
}

declare module 'stopword' {
  /** English stop words, lower case. */
  export const eng: string[];
}
