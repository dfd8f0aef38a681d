/**
 * memvault's MCP server through the official SDK's own client, over both transports: stdio
 * (`memvault mcp --user-id` as a child process, talking to a daemon over HTTP) and Streamable HTTP
 * (POST /mcp on the daemon). A real daemon with the real USE-lite embedder on a 512-d database,
 * so `remember` needs no embedding, as for an assistant.
 */
import path from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import t, { type Test } from 'tap';

import { createEmbedder } from '../../src/embed/index.js';
import { repoRoot } from '../../src/models/repo-paths.js';
import { startTestDaemon, TEST_SECRETS } from '../helpers/daemon.js';
import { migratedDatabase } from '../helpers/db.js';
import { useLiteDir } from '../helpers/models.js';

const db = await migratedDatabase(t, 'mcp', 512);
const embedder = await createEmbedder(useLiteDir(), { device: 'cpu', poolSize: 1 });
t.teardown(() => embedder.close());
const api = await startTestDaemon(t, { databaseUrl: db.appUrl, embedder });

type Transport = 'stdio' | 'http';

async function connect(t: Test, transport: Transport, userId: string): Promise<Client> {
  const client = new Client({ name: 'memvault-test', version: '1.0.0' });
  if (transport === 'http') {
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${api.url}/mcp`), {
        requestInit: {
          headers: { authorization: `Bearer ${api.token}`, 'x-memvault-user-id': encodeURIComponent(userId) },
        },
      }),
    );
  } else {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [
          ...process.execArgv,
          path.join(repoRoot(), 'src', 'cli', 'main.ts'),
          'mcp',
          '--user-id',
          userId,
          '--url',
          api.url,
        ],
        env: { ...env, MEMVAULT_API_TOKEN: TEST_SECRETS.MEMVAULT_API_TOKEN },
        stderr: 'pipe',
      }),
    );
  }
  t.teardown(() => client.close());
  return client;
}

interface ToolAnswer {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: Array<{ type: string; text?: string }>;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolAnswer> {
  const answer = (await client.callTool({ name, arguments: args })) as ToolAnswer;
  // The text content is the same JSON as the structured content, for clients that read only text.
  t.same(JSON.parse(answer.content[0]!.text!), answer.structuredContent);
  return answer;
}

for (const transport of ['http', 'stdio'] as const) {
  t.test(`${transport}: lists the tools with input schemas and descriptions`, async (t) => {
    const client = await connect(t, transport, `list-${transport}`);
    const { tools } = await client.listTools();
    t.same(
      tools.map((tool) => tool.name),
      ['remember', 'recall', 'list_memories', 'update_memory', 'forget'],
    );
    for (const tool of tools) {
      t.ok((tool.description ?? '').length > 60, `${tool.name} is described`);
      t.equal(tool.inputSchema.type, 'object');
      t.equal((tool.inputSchema as { additionalProperties?: boolean }).additionalProperties, false);
      t.notOk('user_id' in (tool.inputSchema.properties ?? {}), `${tool.name} takes no user_id`);
    }
    t.same(tools.find((tool) => tool.name === 'remember')!.inputSchema.required, ['text']);
    t.same(tools.find((tool) => tool.name === 'update_memory')!.inputSchema.required, ['id']);
    t.same(Object.keys(tools.find((tool) => tool.name === 'list_memories')!.inputSchema.properties ?? {}), [
      'doc_id',
      'source',
      'limit',
      'cursor',
      'filter',
    ]);
  });

  t.test(`${transport}: list_memories pages newest first; update_memory corrects in place`, async (t) => {
    const client = await connect(t, transport, `curate-${transport}`);
    const ids: string[] = [];
    for (const city of ['Lisbon', 'Porto', 'Braga']) {
      const stored = await call(client, 'remember', { text: `Carol lives in ${city}.`, doc_id: 'home' });
      ids.push(stored.structuredContent!.id as string);
    }
    await call(client, 'remember', {
      text: 'Carol has a cat named Miso.',
      doc_id: 'pets',
      metadata: { topic: 'pets' },
    });
    const first = await call(client, 'list_memories', { doc_id: 'home', limit: 2 });
    t.notOk(first.isError, JSON.stringify(first));
    const page1 = first.structuredContent!.memories as Array<{ id: string; text: string; version: number }>;
    t.same(
      page1.map((m) => m.text),
      ['Carol lives in Braga.', 'Carol lives in Porto.'],
      'newest first, only doc_id home',
    );
    t.equal(page1[0]!.version, 1);
    t.type(first.structuredContent!.next_cursor, 'string');
    const second = await call(client, 'list_memories', {
      doc_id: 'home',
      limit: 2,
      cursor: first.structuredContent!.next_cursor,
    });
    t.same(
      (second.structuredContent!.memories as Array<{ text: string }>).map((m) => m.text),
      ['Carol lives in Lisbon.'],
    );
    t.equal(second.structuredContent!.next_cursor, null, 'the last page says so');
    const all = await call(client, 'list_memories', {});
    t.equal((all.structuredContent!.memories as unknown[]).length, 4, 'no filter: every memory');
    const otherFilter = await call(client, 'list_memories', {
      doc_id: 'pets',
      cursor: first.structuredContent!.next_cursor,
    });
    t.match(otherFilter.structuredContent, { error: { code: 'invalid_input', field: 'cursor' } });

    const updated = await call(client, 'update_memory', {
      id: ids[0],
      text: 'Carol moved from Lisbon to Coimbra.',
      metadata: { confidence: 'high' },
      version: 1,
    });
    t.notOk(updated.isError, JSON.stringify(updated));
    t.match(updated.structuredContent, { id: ids[0], doc_id: 'home', version: 2 });
    const stale = await call(client, 'update_memory', {
      id: ids[0],
      text: 'Carol lives in Faro.',
      version: 1,
    });
    t.equal(stale.isError, true);
    t.match(stale.structuredContent, { error: { code: 'version_conflict' } });
    const recalled = await call(client, 'recall', { query: 'Which city did Carol move to?', k: 1 });
    t.same(
      (recalled.structuredContent!.memories as Array<{ id: string; text: string; metadata: unknown }>).map(
        ({ id, text, metadata }) => ({ id, text, metadata }),
      ),
      [{ id: ids[0], text: 'Carol moved from Lisbon to Coimbra.', metadata: { confidence: 'high' } }],
      'recall finds the corrected text (re-embedded), not the stale one',
    );
    const empty = await call(client, 'update_memory', { id: ids[1] });
    t.match(empty.structuredContent, { error: { code: 'invalid_input', field: 'text' } });
    const badId = await call(client, 'update_memory', { id: 'not-a-uuid', text: 'x' });
    t.match(badId.structuredContent, { error: { code: 'invalid_input', field: 'id' } });
    const pets = await call(client, 'list_memories', { filter: { topic: 'pets' } });
    t.same(
      (pets.structuredContent!.memories as Array<{ text: string }>).map((m) => m.text),
      ['Carol has a cat named Miso.'],
      'list_memories filters on metadata',
    );
    const recallPets = await call(client, 'recall', {
      query: 'Where does Carol live?',
      filter: { topic: 'pets' },
    });
    t.same(
      (recallPets.structuredContent!.memories as Array<{ text: string }>).map((m) => m.text),
      ['Carol has a cat named Miso.'],
      'recall applies the filter before ranking',
    );
    const range = await call(client, 'recall', { query: 'x', filter: { year: { gt: 2020 } } });
    t.match(range.structuredContent, { error: { code: 'invalid_input', field: 'filter.year.gt' } });
    const bigLimit = await call(client, 'list_memories', { limit: 101 });
    t.match(bigLimit.structuredContent, { error: { code: 'invalid_input', field: 'limit' } });
  });

  t.test(`${transport}: remember, recall and forget round-trip for the server's user`, async (t) => {
    const user = `alice-${transport}`;
    const client = await connect(t, transport, user);
    const stored = await call(client, 'remember', {
      text: 'Alice drinks green tea every morning.',
      source: 'chat',
    });
    t.notOk(stored.isError, JSON.stringify(stored));
    t.match(stored.structuredContent, { id: /^[0-9a-f-]{36}$/, doc_id: /^[0-9a-f-]{36}$/ });
    await call(client, 'remember', { text: 'Alice is planning a hiking trip in July.', doc_id: 'travel' });
    const recalled = await call(client, 'recall', { query: 'What does Alice drink?', k: 5 });
    const memories = recalled.structuredContent!.memories as Array<{
      text: string;
      doc_id: string;
      source: string;
    }>;
    t.same(memories.map((m) => m.text).sort(), [
      'Alice drinks green tea every morning.',
      'Alice is planning a hiking trip in July.',
    ]);
    t.equal(memories[0]!.text, 'Alice drinks green tea every morning.', 'the relevant one first');
    t.equal(memories[0]!.source, 'chat');
    const forgotten = await call(client, 'forget', { doc_id: stored.structuredContent!.doc_id });
    t.same(forgotten.structuredContent, { deleted: 1 });
    const after = await call(client, 'recall', { query: 'What does Alice drink?' });
    t.same(
      (after.structuredContent!.memories as Array<{ doc_id: string }>).map((m) => m.doc_id),
      ['travel'],
    );
  });

  t.test(`${transport}: bad arguments are tool errors with the API's code and field`, async (t) => {
    const client = await connect(t, transport, `errors-${transport}`);
    const blank = await call(client, 'remember', { text: '   ' });
    t.equal(blank.isError, true);
    t.same(blank.structuredContent, {
      error: { code: 'invalid_input', message: 'text: must not be empty or only whitespace', field: 'text' },
    });
    const k = await call(client, 'recall', { query: 'x', k: 500 });
    t.match(k.structuredContent, { error: { code: 'invalid_input', field: 'k' } });
    const missing = await call(client, 'forget', {});
    t.match(missing.structuredContent, { error: { code: 'invalid_input', field: 'doc_id' } });
    const long = await call(client, 'remember', { text: 'x', doc_id: 'd'.repeat(257) });
    t.match(long.structuredContent, { error: { code: 'too_large', field: 'doc_id' } });
    const unknown = await call(client, 'drop_everything', {});
    t.match(unknown.structuredContent, { error: { code: 'unknown_tool' } });
  });

  t.test(`${transport}: two tenants are isolated, and a user_id argument is refused`, async (t) => {
    const alice = await connect(t, transport, `iso-alice-${transport}`);
    const bob = await connect(t, transport, `iso-bob-${transport}`);
    const secret = await call(alice, 'remember', { text: "Alice's door code is 4711.", doc_id: 'secrets' });
    t.notOk(secret.isError);
    const bobRecall = await call(bob, 'recall', { query: 'door code', k: 10 });
    t.same(bobRecall.structuredContent, { memories: [] }, "bob's recall finds nothing of alice's");
    const bobList = await call(bob, 'list_memories', {});
    t.same(
      bobList.structuredContent,
      { memories: [], next_cursor: null },
      "bob's list shows nothing of alice's",
    );
    const bobUpdate = await call(bob, 'update_memory', {
      id: secret.structuredContent!.id,
      text: 'Code is 0000.',
    });
    t.match(bobUpdate.structuredContent, { error: { code: 'not_found' } }, "alice's id is not found for bob");
    const aliceList = await call(alice, 'list_memories', {});
    t.same(
      (aliceList.structuredContent!.memories as Array<{ text: string; version: number }>).map((m) => [
        m.text,
        m.version,
      ]),
      [["Alice's door code is 4711.", 1]],
      "bob's update changed nothing",
    );
    const bobForget = await call(bob, 'forget', { doc_id: 'secrets' });
    t.same(bobForget.structuredContent, { deleted: 0 }, "bob cannot forget alice's doc");
    // A prompt-injected model naming another user: refused, not redirected.
    const injected = await call(bob, 'recall', { query: 'door code', user_id: `iso-alice-${transport}` });
    t.equal(injected.isError, true);
    t.match(injected.structuredContent, { error: { code: 'invalid_input', field: 'user_id' } });
    const stillThere = await call(alice, 'recall', { query: 'door code' });
    t.same(
      (stillThere.structuredContent!.memories as Array<{ text: string }>).map((m) => m.text),
      ["Alice's door code is 4711."],
    );
  });
}

t.test('POST /mcp needs the bearer token and a well-formed X-Memvault-User-Id', async (t) => {
  const initialize = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  };
  const accept = { accept: 'application/json, text/event-stream' };
  const noToken = await api.request('POST', '/mcp', {
    body: initialize,
    token: null,
    headers: { ...accept, 'x-memvault-user-id': 'alice' },
  });
  t.equal(noToken.status, 401);
  const noUser = await api.request('POST', '/mcp', { body: initialize, headers: accept });
  t.match(noUser.json, { error: { code: 'invalid_input', field: 'X-Memvault-User-Id' } });
  const nul = await api.request('POST', '/mcp', {
    body: initialize,
    headers: { ...accept, 'x-memvault-user-id': 'a%00b' },
  });
  t.match(nul.json, { error: { code: 'invalid_input', field: 'X-Memvault-User-Id' } });
  const ok = await api.request('POST', '/mcp', {
    body: initialize,
    headers: { ...accept, 'x-memvault-user-id': 'caf%C3%A9' },
  });
  t.equal(ok.status, 200);
  t.equal(ok.json.result.serverInfo.name, 'memvault');
  const get = await api.request('GET', '/mcp');
  t.equal(get.status, 405, 'no server-initiated stream: GET is 405');
});
