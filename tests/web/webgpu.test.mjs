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
  for (const f of ['small.gguf', 'tiny.gguf']) assert.ok(existsSync(`${models}${f}`), `target/web-fixtures/${f} missing: see scripts/test.sh`);
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

// Syntheses in a row on WebGPU (20 here, TRITONE_WEBGPU_ROUNDS to change; 50 took 11 min on
// SwiftShader with the small model): the device memory in use returns to the weights after each,
// the pool and the peak settle within the first half (a pooled buffer can still be added while
// the free lists fill: 512 bytes once, here), and the wasm heap stops growing. The tiny config
// (hidden 64) keeps each synthesis to seconds; the pool does not care.
test('repeated syntheses on WebGPU do not grow memory', async () => {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${site.address().port}/favicon.svg`);
  const url = `http://127.0.0.1:${files.address().port}/tiny.gguf`;
  const rounds = Number(process.env.TRITONE_WEBGPU_ROUNDS || 20);
  const got = await page.evaluate(async ({ url, rounds: n }) => {
    const { default: init, Tts } = await import(`${location.origin}/pkg/tritone.js`);
    const wasm = await init();
    const gpu = await Tts.create(new Uint8Array(await (await fetch(url)).arrayBuffer()), 'webgpu');
    const rounds = [];
    for (let i = 0; i < n; i++) {
      await gpu.speak('hˈɛlO.', 'af_test', 1.0, i);
      rounds.push({ ...gpu.gpuMemory(), heap: wasm.memory.buffer.byteLength });
    }
    return { backend: gpu.backend, rounds };
  }, { url, rounds });
  const [first, second, last] = [got.rounds[0], got.rounds[1], got.rounds.at(-1)];
  const settled = got.rounds.findLastIndex((r, i) => i > 0 && (r.peak !== got.rounds[i - 1].peak || r.pooled !== got.rounds[i - 1].pooled)) + 1;
  const mb = (b) => (b / 1e6).toFixed(1);
  console.log(`${rounds} syntheses on ${got.backend}: weights ${mb(first.weights)} MB, peak ${mb(first.peak)}, ${mb(second.peak)} → ${mb(last.peak)} MB, `
    + `pooled ${mb(second.pooled)} → ${mb(last.pooled)} MB, unchanged from synthesis ${settled + 1} on; wasm heap ${mb(first.heap)} → ${mb(last.heap)} MB`);
  assert.match(got.backend, /WebGPU/);
  for (const r of got.rounds) assert.equal(r.inUse, 0, 'nothing in use between syntheses');
  for (const r of got.rounds) assert.equal(r.weights, first.weights);
  assert.ok(settled < rounds / 2, `the pool changed until synthesis ${settled + 1} of ${rounds}`);
  assert.ok(last.peak - second.peak <= 4096, `the peak grew ${last.peak - second.peak} bytes after the second synthesis`);
  assert.equal(last.heap, got.rounds[Math.min(4, rounds - 1)].heap, 'the wasm heap stops growing');
  await page.close();
});

// The real Kokoro-82M on WebGPU in the page against the CPU in the same page: the same
// durations, log-mel within 0.05 dB for F16 weights (decoded to f32 on both) and 0.1 dB for
// quantized files (TRITONE_WEBGPU_MODELS: more files, comma-separated, e.g. a --budget file).
test('the real model on WebGPU speaks as the CPU', async () => {
  const real = `${root}target/real/kokoro-f16.gguf`;
  assert.ok(existsSync(real), `${real} missing: run scripts/real-model.sh`);
  const extra = (process.env.TRITONE_WEBGPU_MODELS || '').split(',').filter(Boolean);
  for (const path of [real, ...extra]) {
    const dir = path.slice(0, path.lastIndexOf('/') + 1);
    const name = path.slice(dir.length);
    const server = await serve(dir);
    const page = await browser.newPage();
    try {
      await page.goto(`http://127.0.0.1:${site.address().port}/favicon.svg`);
      const got = await page.evaluate(async ({ url, phonemes }) => {
        const { default: init, Tts, logMelDistance } = await import(`${location.origin}/pkg/tritone.js`);
        await init();
        const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
        const cpu = Tts.load(bytes);
        const gpu = await Tts.create(bytes, 'webgpu');
        const started = performance.now();
        const a = await gpu.speak(phonemes, 'jf_alpha', 1.0, 0);
        const gpuMs = performance.now() - started;
        const b = await cpu.speak(phonemes, 'jf_alpha', 1.0, 0);
        let maxDiff = 0;
        a.audio.forEach((v, i) => { maxDiff = Math.max(maxDiff, Math.abs(v - b.audio[i])); });
        return {
          backend: gpu.backend, seconds: a.audio.length / a.sampleRate, gpuMs, ops: a.ops, memory: gpu.gpuMemory(),
          sameChunks: JSON.stringify(a.chunks) === JSON.stringify(b.chunks), db: logMelDistance(a.audio, b.audio), maxDiff,
        };
      }, { url: `http://127.0.0.1:${server.address().port}/${name}`, phonemes: 'ðə kwˈɪk bɹˈWn fˈɑks.' });
      const mb = (b) => (b / 1e6).toFixed(1);
      console.log(`${name} on ${got.backend}: ${got.seconds.toFixed(2)} s of audio in ${(got.gpuMs / 1e3).toFixed(1)} s, ${got.ops} dispatches, `
        + `${got.db.toFixed(4)} dB from the CPU, max |Δsample| ${got.maxDiff.toExponential(2)}, GPU memory: weights ${mb(got.memory.weights)} MB, peak ${mb(got.memory.peak)} MB`);
      assert.match(got.backend, /WebGPU/);
      assert.ok(got.sameChunks, `${name}: the same durations`);
      const quantized = !/f(16|32)\.gguf$/.test(name);
      assert.ok(got.db <= (quantized ? 0.1 : 0.05), `${name}: ${got.db} dB`);
    } finally {
      await page.close();
      server.close();
    }
  }
});
