// The model on WebGPU in the page (SwiftShader on machines without a GPU), through the wasm
// module: the same durations as the CPU and the same sound within what this chaotic random
// model's f32 rounding allows (tests/gpu_model.rs); and when the device is destroyed mid-speech
// (what a driver reset does), the rest of the speech comes from the CPU, which says why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { launchBrowser, root, serve } from './harness.mjs';

const models = `${root}target/web-fixtures/`;
const PHONEMES = 'hˈɛlO wˈɜɹld. ðɪs ɪz ə tˈɛst.';
let site, files, browser;

before(async () => {
  assert.ok(existsSync(`${models}small.gguf`), 'target/web-fixtures/small.gguf missing: see scripts/test.sh');
  site = await serve(`${root}www`);
  files = await serve(models);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  site?.close();
  files?.close();
});

test('WebGPU speaks as the CPU, and hands over to it when the device is lost', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${site.address().port}/favicon.svg`);
  const url = `http://127.0.0.1:${files.address().port}/small.gguf`;
  const got = await page.evaluate(async ({ url, phonemes }) => {
    const { default: init, Tts, logMelDistance } = await import(`${location.origin}/pkg/tritone.js`);
    await init();
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    const gpu = await Tts.create(bytes, 'webgpu');
    const cpu = Tts.load(bytes);
    const backend = gpu.backend;
    const [a, b] = [await gpu.speak(phonemes, 'af_test', 1.0, 7), await cpu.speak(phonemes, 'af_test', 1.0, 7)];
    const db = logMelDistance(a.audio, b.audio);

    const options = { voice: 'af_test', seed: 7, phonemes: true, bySentence: true };
    const chunks = [];
    const stream = gpu.stream(phonemes, options);
    for (let c = await stream.next(); c; c = await stream.next()) {
      chunks.push({ backend: c.backend, reason: c.backendReason, durations: c.durations, phonemes: c.phonemes });
      if (chunks.length === 1) gpu.loseGpuDevice();
    }
    const expected = [];
    const cpuStream = cpu.stream(phonemes, options);
    for (let c = await cpuStream.next(); c; c = await cpuStream.next()) expected.push({ durations: c.durations, phonemes: c.phonemes });
    return { backend, db, chunksEqual: JSON.stringify(a.chunks) === JSON.stringify(b.chunks), gpuOps: a.ops, chunks, expected, after: gpu.backend, reason: gpu.backendReason };
  }, { url, phonemes: PHONEMES });
  console.log(`on ${got.backend}: ${got.gpuOps} dispatches, ${got.db.toFixed(4)} dB from the CPU; after the loss: ${got.after} (${got.reason})`);
  assert.match(got.backend, /WebGPU/);
  assert.ok(got.gpuOps > 300, `${got.gpuOps} dispatches`);
  assert.ok(got.chunksEqual, 'the same phonemes and durations');
  assert.ok(got.db <= 0.5, `${got.db} dB`);
  assert.match(got.chunks[0].backend, /WebGPU/);
  assert.match(got.after, /^CPU/);
  assert.match(got.reason, /the GPU failed/);
  const spoken = got.chunks.filter((c) => c.phonemes);
  assert.equal(spoken.length, 2, 'two sentences');
  assert.match(spoken[1].backend, /^CPU/);
  assert.deepEqual(spoken.map(({ durations, phonemes }) => ({ durations, phonemes })), got.expected.filter((c) => c.phonemes));
  assert.deepEqual(errors, []);
  await page.close();
});
