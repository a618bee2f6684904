// Quantized models in the page: the small random model stored as Q4_K and as TQ1_0 (written by
// `cargo run --example random_model … q4_k|tq1_0`), and as a `tritone quantize --budget` plan
// (Q4_K and TQ1_0 parts, F16 voices), speaks exactly like its twin decoded to F32
// (`tritone convert --gguf … --dtype f32`), and the weights stay packed in the wasm heap: after
// loading, the heap of a page with the quantized model is smaller than one with the F32 twin.
// scripts/test.sh ("test model for the browser tier") writes the four files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { launchBrowser, root, serve } from './harness.mjs';

const models = `${root}target/web-fixtures/`;
const formats = ['q4_k', 'tq1_0', 'mixed'];
const PHONEMES = 'hˈɛlO wˈɜɹld. ðɪs ɪz ə tˈɛst.';
const MB = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
let site, files, browser;

before(async () => {
  for (const f of formats) {
    for (const file of [`small-${f}.gguf`, `small-${f}-f32.gguf`]) {
      assert.ok(existsSync(models + file), `${models}${file} missing: see the "test model for the browser tier" step of scripts/test.sh`);
    }
  }
  site = await serve(`${root}www`);
  files = await serve(models);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  site?.close();
  files?.close();
});

// One model in a fresh page (a fresh wasm instance, so its heap holds this model only): the wasm
// memory before and after loading and after speaking, and the speech.
async function loadAndSpeak(file) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    // A document of the site's origin that runs no script of its own: the heap is this model's.
    await page.goto(`http://127.0.0.1:${site.address().port}/favicon.svg`);
    const url = `http://127.0.0.1:${files.address().port}/${file}`;
    const got = await page.evaluate(async ({ url, phonemes }) => {
      const { default: init, Tts } = await import(`${location.origin}/pkg/tritone.js`);
      // init() resolves to the wasm exports: `memory` is the heap.
      const wasm = await init();
      const heap = () => wasm.memory.buffer.byteLength;
      const before = heap();
      const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
      const tts = Tts.load(bytes);
      const loaded = heap();
      const speech = await tts.speak(phonemes, 'af_test', 1.0, 7);
      return {
        before, loaded, spoken: heap(), backend: tts.backend, ops: speech.ops,
        chunks: speech.chunks, audio: Array.from(speech.audio), sampleRate: speech.sampleRate,
      };
    }, { url, phonemes: PHONEMES });
    assert.deepEqual(errors, []);
    return got;
  } finally {
    await page.close();
  }
}

for (const format of formats) {
  test(`${format}: the page speaks like the F32 twin, and the heap holds the packed weights`, async () => {
    const packedFile = `small-${format}.gguf`;
    const twinFile = `small-${format}-f32.gguf`;
    const packed = await loadAndSpeak(packedFile);
    const twin = await loadAndSpeak(twinFile);
    for (const [file, r] of [[packedFile, packed], [twinFile, twin]]) {
      console.log(`${file.padEnd(22)} file ${MB(statSync(models + file).size).padStart(10)}; wasm memory: ${MB(r.before)} at start, `
        + `${MB(r.loaded)} after loading, ${MB(r.spoken)} after speaking; ${r.ops} ops, ${(r.audio.length / r.sampleRate).toFixed(2)} s on ${r.backend}`);
    }
    assert.match(packed.backend, /CPU/);
    assert.deepEqual(packed.chunks, twin.chunks, 'the same phonemes and durations');
    assert.equal(packed.audio.length, twin.audio.length);
    assert.ok(packed.audio.length > 0);
    let maxDiff = 0;
    packed.audio.forEach((v, i) => { maxDiff = Math.max(maxDiff, Math.abs(v - twin.audio[i])); });
    console.log(`${format} vs its F32 twin in the page: max |Δaudio| ${maxDiff.toExponential(2)}`);
    assert.ok(maxDiff <= 1e-4, `${format}: audio differs from the F32 twin by ${maxDiff}`);
    // Packed weights stay packed: the heap after loading tracks the file, not its F32 decoding.
    assert.ok(packed.loaded < twin.loaded, `heap after loading ${format} ${MB(packed.loaded)} ≥ the F32 twin's ${MB(twin.loaded)}`);
  });
}

test('the demo page loads a quantized model by URL and speaks', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const url = `http://127.0.0.1:${files.address().port}/small-q4_k.gguf`;
  await page.goto(`http://127.0.0.1:${site.address().port}/?model=${encodeURIComponent(url)}`);
  await page.waitForFunction(() => document.body.dataset.model || document.body.dataset.error, null, { timeout: 120_000 });
  assert.match(await page.locator('#model-status').innerText(), /small-q4_k\.gguf: 41\.\d MB, 2 voices, loaded in \d+ ms\. Runs on CPU \(wasm simd128\)\./);
  assert.match(await page.locator('#active').innerText(), /^CPU \(wasm simd128\) — \S/);
  await page.click('#speak');
  await page.waitForFunction(() => document.body.dataset.spoken || document.body.dataset.error, null, { timeout: 120_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.error), undefined);
  console.log(`demo page, Q4_K model: ${await page.locator('#speak-status').innerText()}`);
  assert.deepEqual(errors, []);
  await page.close();
});
