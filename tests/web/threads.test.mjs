// The threaded wasm build (pkg/threads, feature `wasm-threads`): in a cross-origin isolated page
// it starts a pool of Web Workers over shared memory, its CPU kernels run on them, and it speaks
// exactly as the plain build (each output is computed as on one thread). Without isolation the
// page cannot share memory, and the plain build is the one to load (checked here too).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { launchBrowser, root, serve } from './harness.mjs';

const model = `${root}target/web-fixtures/small-q4_k.gguf`;
const PHONEMES = 'hˈɛlO wˈɜɹld. ðɪs ɪz ə tˈɛst.';
let isolated, plain, broken, browser;

before(async () => {
  assert.ok(existsSync(model), `${model} missing: see the "test model for the browser tier" step of scripts/test.sh`);
  isolated = await serve(`${root}www`, 0, { '/models/small.gguf': model }, { isolated: true });
  plain = await serve(`${root}www`, 0, { '/models/small.gguf': model });
  // Isolated, but the threaded build's wasm is missing (404): it cannot start.
  broken = await serve(`${root}www`, 0, { '/models/small.gguf': model, '/pkg/threads/tritone_bg.wasm': `${root}target/no-such-file.wasm` }, { isolated: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  isolated?.close();
  plain?.close();
  broken?.close();
});

// Both builds in one page (two wasm instances), the same model, phonemes and seed.
async function speakWithBoth(server, int8 = false) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`http://127.0.0.1:${server.address().port}/favicon.svg`);
    const got = await page.evaluate(async ([phonemes, int8]) => {
      const bytes = new Uint8Array(await (await fetch('/models/small.gguf')).arrayBuffer());
      const speak = async (mod) => {
        const tts = await mod.Tts.create(bytes, 'cpu', int8);
        const speech = await tts.speak(phonemes, 'af_test', 1.0, 7);
        return { backend: tts.backend, threads: mod.cpuThreads(), audio: Array.from(speech.audio) };
      };
      const single = await import('/pkg/tritone.js');
      await single.default();
      const out = { isolated: crossOriginIsolated, single: await speak(single) };
      const threaded = await import('/pkg/threads/tritone.js');
      try {
        await threaded.default();
        await threaded.initThreadPool(2);
        out.threaded = await speak(threaded);
      } catch (e) {
        out.threadedError = String(e?.message ?? e);
      }
      return out;
    }, [PHONEMES, int8]);
    assert.deepEqual(errors, []);
    return got;
  } finally {
    await page.close();
  }
}

test('the threaded build speaks on 2 threads exactly as the plain build', async () => {
  const got = await speakWithBoth(isolated);
  assert.equal(got.isolated, true);
  assert.equal(got.threadedError, undefined);
  assert.equal(got.single.backend, 'CPU (wasm simd128)');
  assert.equal(got.single.threads, 1);
  assert.equal(got.threaded.backend, 'CPU (wasm simd128, 2 threads)');
  assert.equal(got.threaded.threads, 2);
  assert.ok(got.single.audio.length > 2_000);
  assert.deepEqual(got.threaded.audio, got.single.audio);
});

test('int8 arithmetic: the same integers on 2 threads as on one, so the same speech; not the f32 speech', async () => {
  const [f32, got] = [await speakWithBoth(isolated), await speakWithBoth(isolated, true)];
  assert.equal(got.threadedError, undefined);
  assert.equal(got.single.backend, 'CPU (wasm simd128, int8 convolutions: simd128 i16 dot + Winograd F(6,3)/F(6,4))');
  assert.equal(got.threaded.backend, 'CPU (wasm simd128, int8 convolutions: simd128 i16 dot + Winograd F(6,3)/F(6,4), 2 threads)');
  assert.deepEqual(got.threaded.audio, got.single.audio);
  assert.equal(got.single.audio.length, f32.single.audio.length);
  assert.notDeepEqual(got.single.audio, f32.single.audio);
});

test('the API in an isolated page: the worker runs the threaded build, same speech as one thread', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`http://127.0.0.1:${isolated.address().port}/favicon.svg`);
    const got = await page.evaluate(async () => {
      const { TritoneTTS } = await import('/pkg/index.js');
      const run = async (threads, int8 = false) => {
        const tts = await TritoneTTS.load('/models/small.gguf', { threads, int8, backend: 'cpu', cache: false });
        const audio = await tts.generate('Hello world. This is a test.', { voice: 'af_test', seed: 3 });
        const out = { threads: tts.threads, threadsReason: tts.threadsReason, backendName: tts.backendName, audio: Array.from(audio.samples) };
        tts.dispose();
        return out;
      };
      return { two: await run(2), one: await run(1), int8: await run(2, true) };
    });
    assert.deepEqual(errors, []);
    assert.deepEqual({ ...got.two, audio: null }, { threads: 2, threadsReason: '', backendName: 'CPU (wasm simd128, 2 threads)', audio: null });
    assert.deepEqual({ ...got.one, audio: null }, { threads: 1, threadsReason: '', backendName: 'CPU (wasm simd128)', audio: null });
    assert.ok(got.one.audio.length > 2_000);
    assert.deepEqual(got.two.audio, got.one.audio);
    // the load option int8 reaches the worker's engine
    assert.equal(got.int8.backendName, 'CPU (wasm simd128, int8 convolutions: simd128 i16 dot + Winograd F(6,3)/F(6,4), 2 threads)');
    assert.equal(got.int8.audio.length, got.one.audio.length);
  } finally {
    await page.close();
  }
});

test('a threaded build that does not start leaves the plain one, saying why', async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`http://127.0.0.1:${broken.address().port}/favicon.svg`);
    const got = await page.evaluate(async () => {
      const { TritoneTTS } = await import('/pkg/index.js');
      const tts = await TritoneTTS.load('/models/small.gguf', { threads: 2, backend: 'cpu', cache: false });
      const audio = await tts.generate('Hello world.', { voice: 'af_test' });
      return { threads: tts.threads, threadsReason: tts.threadsReason, backendName: tts.backendName, samples: audio.samples.length };
    });
    assert.equal(got.threads, 1);
    assert.equal(got.backendName, 'CPU (wasm simd128)');
    assert.match(got.threadsReason, /^one CPU thread: the threaded build did not start \(.+\)$/);
    assert.ok(got.samples > 1_000);
    console.log(`fallback: ${got.threadsReason}`);
  } finally {
    await page.close();
  }
});

test('without cross-origin isolation the threaded build cannot start, and the plain one speaks', async () => {
  const got = await speakWithBoth(plain);
  assert.equal(got.isolated, false);
  assert.ok(got.single.audio.length > 2_000);
  assert.ok(got.threadedError, 'the threaded build needs shared memory');
  console.log(`threaded build without isolation: ${got.threadedError}`);
});

test('on a host that sends no COOP/COEP the service worker adds them: after a reload the page is isolated and runs 2 threads', async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${plain.address().port}/`);
    assert.equal(await page.evaluate(() => crossOriginIsolated), false, 'the server sends no isolation headers');
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.reload();
    const got = await page.evaluate(async () => {
      const { TritoneTTS } = await import('/pkg/index.js');
      const tts = await TritoneTTS.load('/models/small.gguf', { threads: 2, backend: 'cpu', cache: false });
      const audio = await tts.generate('Hello world.', { voice: 'af_test', seed: 3 });
      const out = { isolated: crossOriginIsolated, threads: tts.threads, reason: tts.threadsReason, samples: audio.samples.length };
      tts.dispose();
      return out;
    });
    assert.deepEqual({ ...got, samples: null }, { isolated: true, threads: 2, reason: '', samples: null });
    assert.ok(got.samples > 2_000);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
