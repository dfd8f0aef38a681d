/**
 * `memvault demo`: starts a daemon in-process on a free port (same configuration as `start`),
 * indexes a few memories for two users over the HTTP API (through memvault/client), and shows that each user's query sees
 * only that user's memories. The demo users are forgotten at the end, so it can be run again.
 */
import { createHash } from 'node:crypto';

import { MemvaultClient } from '../../client/index.js';
import { EXIT } from '../../daemon.js';
import { parseCommand } from '../args.js';
import { startWithEmbeddedDefaults } from './embedded-defaults.js';

export const summary = 'index memories for two users and show that queries stay within their user';

const MEMORIES: Record<string, Array<{ doc: string; text: string }>> = {
  'demo-alice': [
    { doc: 'prefs', text: 'Alice drinks green tea every morning and avoids coffee.' },
    { doc: 'travel', text: 'Alice is planning a hiking trip to the Dolomites in July.' },
    { doc: 'work', text: 'Alice is writing a compiler for a small functional language.' },
  ],
  'demo-bob': [
    { doc: 'prefs', text: 'Bob drinks a double espresso before every meeting.' },
    { doc: 'travel', text: 'Bob is flying to Lisbon for a surfing week in September.' },
    { doc: 'pets', text: 'Bob has a grey cat called Pixel who sleeps on the keyboard.' },
  ],
};

export async function run(args: string[]): Promise<number> {
  parseCommand(args, {
    usage: 'usage: memvault demo   (a daemon on a free port, memories for two users, one query each)',
    options: {},
  });
  // A free loopback port: the demo talks to itself and must not clash with a running daemon.
  const outcome = await startWithEmbeddedDefaults({ MEMVAULT_PORT: '0', MEMVAULT_HOST: '127.0.0.1' });
  if (typeof outcome === 'number') return outcome;
  const { started } = outcome;
  const { daemon, apiToken } = started;
  const serverEmbeds = started.settings.embed !== undefined;
  // The demo is a client like any other: memvault/client over HTTP.
  const client = new MemvaultClient({ baseUrl: daemon.url, token: apiToken });
  // Without a server-side embedder the demo embeds client-side with a toy bag-of-words hash:
  // enough to show isolation, not a semantic model.
  const embedding = (text: string) =>
    serverEmbeds ? {} : { embedding: toyEmbedding(text, daemon.embeddingDim) };

  try {
    console.log(
      `memvault demo against ${daemon.url} (${serverEmbeds ? 'server-side USE-lite embeddings' : 'toy client-side embeddings'})\n`,
    );
    for (const [user, memories] of Object.entries(MEMORIES)) {
      await client.forgetUser(user);
      const { ids } = await client.createChunks({
        user_id: user,
        chunks: memories.map((m) => ({
          doc_id: m.doc,
          source: 'demo',
          text: m.text,
          metadata: { demo: true },
          ...embedding(m.text),
        })),
      });
      console.log(`indexed ${ids.length} memories for ${user}`);
    }
    for (const [user, question] of [
      ['demo-alice', 'What does this person drink?'],
      ['demo-bob', 'What does this person drink?'],
    ] as const) {
      const result = await client.queryMemories({
        user_id: user,
        query: question,
        k: 3,
        ...embedding(question),
      });
      console.log(`\n${user} asks "${question}" (reranked: ${String(result.reranked)}):`);
      for (const hit of result.results) {
        console.log(`  ${hit.score.toFixed(3)}  [${hit.doc_id}] ${hit.text}`);
      }
      const foreign = result.results.filter((hit) => !MEMORIES[user]!.some((m) => m.text === hit.text));
      console.log(
        foreign.length === 0
          ? `  -> only ${user}'s own memories`
          : `  -> LEAK: ${foreign.length} foreign results`,
      );
    }
    for (const user of Object.keys(MEMORIES)) await client.forgetUser(user);
    console.log('\ndemo users forgotten (DELETE /v1/users/{user_id}).');
    return EXIT.ok;
  } finally {
    await daemon.close();
  }
}

function toyEmbedding(text: string, dim: number): number[] {
  const v = new Array<number>(dim).fill(0);
  for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
    const h = createHash('sha256').update(word).digest();
    v[h.readUInt32BE(0) % dim]! += 1;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}
