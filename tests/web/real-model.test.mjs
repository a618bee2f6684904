// The demo out of the box: served like scripts/dev.sh serves it, the page loads the real
// Kokoro-82M (target/real/kokoro-f16.gguf, from scripts/real-model.sh) by itself, and the first
// click on Speak speaks the default text with a real (Japanese) voice read as US English, with
// the note saying so. The audio equals the native CLI's on the same model, text and seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { launchBrowser, root, serve } from './harness.mjs';

const model = `${root}target/real/kokoro-f16.gguf`;
const cli = `${root}target/debug/tritone`;

function npyFloats(path) {
  const b = readFileSync(path);
  const headerLen = b.readUInt16LE(8);
  return new Float32Array(new Uint8Array(b.subarray(10 + headerLen)).buffer);
}

test('the demo loads the real model by itself and the first click speaks', async () => {
  assert.ok(existsSync(model), `${model} missing: run scripts/real-model.sh`);
  const site = await serve(`${root}www`, 0, { '/models/kokoro.gguf': model });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${site.address().port}/`);
    await page.waitForFunction(() => document.body.dataset.model || document.body.dataset.error, null, { timeout: 300_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.error), undefined);
    assert.match(await page.locator('#model-status').innerText(), /Kokoro-82M \(default model\): 165\.2 MB, 5 voices/);
    assert.equal(await page.locator('#voice').inputValue(), 'jf_alpha');
    assert.match(await page.locator('#voice-note').innerText(), /jf_alpha is a Japanese voice; .* read as US English/);
    const text = await page.locator('#text').inputValue();
    await page.click('#speak');
    await page.waitForFunction(() => document.body.dataset.spoken || document.body.dataset.error, null, { timeout: 300_000 });
    const status = await page.locator('#speak-status').innerText();
    console.log(`real model in the page: ${status}`);
    const audio = await page.evaluate(() => Array.from(window.lastSpeech.audio));
    await page.screenshot({ path: `${root}target/screenshots/demo-real.png`, fullPage: true });

    const dump = `${root}target/real/page-check`;
    // The page streams sentence by sentence: so does --by-sentence.
    execFileSync(cli, ['say', '--model', model, '--voice', 'jf_alpha', '--seed', '0', '--by-sentence', '--dump', dump, '--out', `${dump}.wav`, text], { stdio: 'pipe' });
    const native = npyFloats(`${dump}/audio.npy`);
    assert.equal(audio.length, native.length, 'the same durations as the native CLI');
    let num = 0, den = 0;
    audio.forEach((v, i) => { num += (v - native[i]) ** 2; den += native[i] ** 2; });
    const rel = Math.sqrt(num / den);
    console.log(`page vs native audio (real model, F16): relative RMS ${rel.toExponential(2)}`);
    // wasm sums in 4 lanes, native in 8: rounding-level differences (see synthesis.test.mjs).
    assert.ok(rel < 0.1, `relative RMS ${rel}`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    site.close();
  }
});
