// The bundled phonemizer in the browser: the wasm package phonemizes text, SSML and misaki's
// inline links in the page, and gives exactly what the native CLI gives (`tritone phonemize
// --json`), word sources included; malformed SSML is refused with its byte offset.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { openDemoPage, root } from './harness.mjs';

const cli = `${root}target/debug/tritone`;
let site, page;

before(async () => {
  site = await openDemoPage();
  page = site.page;
});

after(async () => {
  await site?.close();
});

const cases = [
  { lang: 'en-us', ssml: false, text: 'Dr. Smith paid $1,234.50 on Jan. 5, 2024 — call 555-123-4567!' },
  { lang: 'en-gb', ssml: false, text: "The colour of the car was grey; it's 25% cheaper at 3:30 pm." },
  { lang: 'en-us', ssml: false, text: '[Kokoro](/kˈOkəɹO/) reads [read](-1) and zorblaxian words 🙂 שלום.' },
  { lang: 'en-us', ssml: true, text: '<speak>Hi<break time="300ms"/><prosody rate="fast"><phoneme alphabet="x-sampa" ph="t@\'mA:toU">tomato</phoneme></prosody> <say-as interpret-as="characters">SSML</say-as></speak>' },
];

function native({ lang, ssml, text }) {
  const args = ['phonemize', '--json', '--lang', lang, ...(ssml ? ['--ssml'] : []), text];
  return JSON.parse(execFileSync(cli, args, { encoding: 'utf8' }));
}

test('phonemizes in the page exactly as the native CLI', async () => {
  const got = await page.evaluate(async (cases) => {
    const mod = await import('./pkg/tritone.js');
    await mod.default();
    const t0 = performance.now();
    const out = cases.map((c) => mod.phonemize(c.text, c.lang, c.ssml));
    return { out: JSON.parse(JSON.stringify(out)), ms: performance.now() - t0 };
  }, cases);
  for (const [i, c] of cases.entries()) {
    const want = native(c);
    assert.deepEqual(got.out[i].segments, want.segments, c.text);
    assert.ok(got.out[i].phonemes.length > 5, c.text);
  }
  const ssml = got.out[3].segments;
  assert.equal(ssml[0].pause_ms, 300);
  assert.equal(ssml[1].rate, 1.25);
  console.log(`phonemized ${cases.length} inputs in the page in ${got.ms.toFixed(0)} ms (first call loads the lexicon): ${got.out[0].phonemes}`);
});

test('malformed SSML and unknown languages are refused with a clear message', async () => {
  const got = await page.evaluate(async () => {
    const mod = await import('./pkg/tritone.js');
    await mod.default();
    const error = (f) => { try { f(); return 'no error'; } catch (e) { return e.message; } };
    return {
      ssml: error(() => mod.phonemize('<speak>Hi <b>there</b></speak>', 'en-us', true)),
      entity: error(() => mod.phonemize('<speak>&lol;</speak>', 'en-us', true)),
      lang: error(() => mod.phonemize('Hi', 'fr-fr', false)),
    };
  });
  assert.match(got.ssml, /SSML, byte 10: .*\bb\b/);
  assert.match(got.entity, /SSML, byte 7/);
  assert.match(got.lang, /unknown language "fr-fr"/);
});
