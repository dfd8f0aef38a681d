/**
 * Google Wycheproof vectors. AES-256-GCM (96-bit nonces, 128-bit tags) runs through gcmOpen and
 * gcmSealInto in src/crypto/gcm.ts, the functions the envelope code seals and opens with, so a
 * change there (say, dropping authTagLength) fails here. HMAC-SHA256 checks node:crypto's HMAC,
 * which src/crypto/hmac.ts calls directly. The files (Apache-2.0) live in test/fixtures/wycheproof
 * (PROVENANCE.md there).
 */
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

import t from 'tap';

import { gcmOpen, gcmSealInto } from '../../src/crypto/gcm.js';

const dir = new URL('../fixtures/wycheproof/', import.meta.url);

interface Vector {
  tcId: number;
  comment: string;
  flags: string[];
  key: string;
  msg: string;
  tag: string;
  result: 'valid' | 'invalid' | 'acceptable';
  iv?: string;
  aad?: string;
  ct?: string;
}
interface Group {
  keySize: number;
  ivSize?: number;
  tagSize: number;
  tests: Vector[];
}
interface Suite {
  algorithm: string;
  numberOfTests: number;
  testGroups: Group[];
}

function load(name: string): Suite {
  return JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as Suite;
}

const hex = (text: string | undefined): Buffer => Buffer.from(text ?? '', 'hex');

/** Opens a vector with the project's GCM core: null when the tag does not verify. */
function open(v: Vector): Buffer | null {
  try {
    return gcmOpen(createSecretKey(hex(v.key)), hex(v.iv), hex(v.ct), hex(v.tag), [hex(v.aad)]);
  } catch {
    return null;
  }
}

/** Seals a vector's message with the project's GCM core: ciphertext then tag, as hex. */
function seal(v: Vector): string {
  const msg = hex(v.msg);
  const out = Buffer.alloc(msg.length + 16);
  gcmSealInto(createSecretKey(hex(v.key)), hex(v.iv), msg, [hex(v.aad)], out, 0);
  return out.toString('hex');
}

t.test('AES-256-GCM: every Wycheproof vector with a 256-bit key, 96-bit nonce and 128-bit tag', async (t) => {
  const suite = load('aes_gcm_test.json');
  t.equal(suite.algorithm, 'AES-GCM');
  const groups = suite.testGroups.filter((g) => g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128);
  const counts = { valid: 0, invalid: 0, acceptable: 0 };
  for (const v of groups.flatMap((g) => g.tests)) {
    const opened = open(v);
    const label = `tcId ${v.tcId} (${v.result}; ${v.flags.join(', ') || 'no flags'})${v.comment ? ': ' + v.comment : ''}`;
    if (v.result === 'valid') {
      t.same(opened?.toString('hex'), v.msg, `decrypts ${label}`);
      t.equal(seal(v), (v.ct ?? '') + v.tag, `seals to the expected ciphertext and tag, ${label}`);
    } else if (v.result === 'invalid') t.equal(opened, null, `rejects ${label}`);
    // "acceptable" (none in this file today): either outcome is allowed, but an opened message
    // must then be the expected one.
    else if (opened !== null) t.equal(opened.toString('hex'), v.msg, `acceptable ${label}`);
    counts[v.result]++;
  }
  const checked = counts.valid + counts.invalid + counts.acceptable;
  t.comment(
    `Wycheproof AES-256-GCM: ${checked} vectors checked (${counts.valid} valid, ${counts.invalid} invalid, ${counts.acceptable} acceptable)`,
  );
  t.equal(checked, 66, 'the 66 vectors of aes_gcm_test.json v0.9rc5 for these parameters');
});

t.test('AES-256-GCM: a tag shortened to 12 bytes is refused by authTagLength 16', async (t) => {
  const suite = load('aes_gcm_test.json');
  const group = suite.testGroups.find((g) => g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128)!;
  const valid = group.tests.find((v) => v.result === 'valid' && v.msg.length > 0)!;
  t.equal(open(valid)?.toString('hex'), valid.msg, 'the full vector opens to its message');
  t.equal(open({ ...valid, tag: valid.tag.slice(0, 24) }), null, 'its 96-bit prefix does not');
});

t.test('HMAC-SHA256: every Wycheproof vector', async (t) => {
  const suite = load('hmac_sha256_test.json');
  t.equal(suite.algorithm, 'HMACSHA256');
  let checked = 0;
  for (const group of suite.testGroups) {
    // tagSize (bits) is a truncation: the expected tag is the leading tagSize/8 bytes of the MAC.
    const tagBytes = group.tagSize / 8;
    for (const v of group.tests) {
      const mac = createHmac('sha256', hex(v.key)).update(hex(v.msg)).digest().subarray(0, tagBytes);
      const expected = hex(v.tag);
      const verifies = expected.length === mac.length && timingSafeEqual(mac, expected);
      const label = `tcId ${v.tcId} (${v.result}, key ${group.keySize} bits, tag ${group.tagSize} bits)${v.comment ? ': ' + v.comment : ''}`;
      if (v.result === 'valid') t.ok(verifies, `verifies ${label}`);
      else if (v.result === 'invalid') t.notOk(verifies, `rejects ${label}`);
      checked++;
    }
  }
  t.comment(`Wycheproof HMAC-SHA256: ${checked} vectors checked`);
  t.equal(checked, suite.numberOfTests, `all ${suite.numberOfTests} vectors of hmac_sha256_test.json`);
});
