// The npm API (pkg/index.js: TritoneTTS) in headless Chromium, with the engine in its Web
// Worker: loading with progress, generate, stream (sentence by sentence, equal to generate for
// the same pieces, first audio early), word times that are the durations, cancellation, errors,
// blends, seamless scheduling in Web Audio, and a main thread that never blocks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, root, serve } from './harness.mjs';

const model = `${root}target/web-fixtures/small.gguf`;
const PARAGRAPH = 'The sun rose over the quiet town. Birds sang in the old oak trees. '
  + 'A small dog ran across the green field. Children laughed on their way to school. The day had begun.';
let site, browser, page;

before(async () => {
  assert.ok(existsSync(`${root}pkg/index.js`), 'pkg/ missing: scripts/build-wasm.sh');
  assert.ok(existsSync(model), `${model} missing: cargo run --example random_model`);
  const dir = mkdtempSync(join(tmpdir(), 'tritone-api-'));
  writeFileSync(join(dir, 'api.html'), '<!doctype html><title>api</title>');
  site = await serve(root, 0, { '/api.html': join(dir, 'api.html'), '/small.gguf': model });
  browser = await launchBrowser();
  page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${site.address().port}/api.html`);
  // Long tasks on the main thread, from now on.
  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((e) => ({ start: e.startTime, duration: e.duration })))).observe({ type: 'longtask' });
  });
});

after(async () => {
  await browser?.close();
  site?.close();
});

test('load: progress, voices, the backend and why, in a worker', async () => {
  const got = await page.evaluate(async () => {
    const { TritoneTTS } = await import('/pkg/index.js');
    const phases = [];
    window.tts = await TritoneTTS.load('/small.gguf', { progress: (p) => phases.push(p) });
    const { voices, backend, backendName, backendReason, worker, sampleRate, threads, threadsReason } = window.tts;
    return { phases, voices, backend, backendName, backendReason, worker, sampleRate, threads, threadsReason, cores: navigator.hardwareConcurrency };
  });
  assert.equal(got.worker, true);
  assert.equal(got.backend, 'cpu');
  assert.equal(got.backendName, 'CPU (wasm simd128)');
  // SwiftShader here: auto keeps to the CPU, saying why.
  assert.match(got.backendReason, /software rasterizer/);
  assert.equal(got.sampleRate, 24000);
  // This page is not cross-origin isolated: one thread, saying why (threads.test.mjs: more).
  assert.equal(got.threads, 1);
  if (got.cores > 1) assert.match(got.threadsReason, /not cross-origin isolated/);
  assert.deepEqual(got.voices.map((v) => v.id), ['af_test', 'am_other']);
  assert.deepEqual(got.voices[1], { id: 'am_other', language: 'en-us', gender: 'male' });
  const downloads = got.phases.filter((p) => p.phase === 'download');
  assert.ok(downloads.length > 1, 'progress during the download');
  const last = downloads.at(-1);
  assert.equal(last.loaded, last.total);
  assert.ok(last.total > 1e6);
  assert.deepEqual(got.phases.map((p) => p.phase).filter((p, i, a) => a[i - 1] !== p), ['download', 'verify', 'load']);
});

test('stream: sentence by sentence, early first audio, equal to generate, no long task', async () => {
  const got = await page.evaluate(async (text) => {
    const before = window.longTasks.length;
    const t0 = performance.now();
    let first = null;
    const chunks = [];
    for await (const chunk of window.tts.stream(text, { voice: 'af_test', seed: 3 })) {
      first ??= performance.now() - t0;
      chunks.push({ text: chunk.text, start: chunk.start, length: chunk.samples.length, words: chunk.words, samples: chunk.samples });
    }
    const total = performance.now() - t0;
    const streamed = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) { streamed.set(c.samples, at); at += c.length; }
    const same = await window.tts.generate(text, { voice: 'af_test', seed: 3, bySentence: true });
    const whole = await window.tts.generate(text, { voice: 'af_test', seed: 3 });
    let maxDiff = 0;
    for (let i = 0; i < streamed.length; i++) maxDiff = Math.max(maxDiff, Math.abs(streamed[i] - same.samples[i]));
    const longTasks = window.longTasks.slice(before);
    return {
      first, total, maxDiff, longTasks,
      lengths: [streamed.length, same.samples.length, whole.samples.length],
      chunks: chunks.map(({ samples, ...c }) => c),
      wordsEqual: JSON.stringify(chunks.flatMap((c) => c.words)) === JSON.stringify(same.words),
    };
  }, PARAGRAPH);
  const spoken = got.chunks.filter((c) => c.text);
  console.log(`stream: ${spoken.length} sentences, first audio after ${got.first.toFixed(0)} ms of ${got.total.toFixed(0)} ms (${(100 * got.first / got.total).toFixed(0)} %); ${got.longTasks.length} long tasks`);
  assert.equal(spoken.length, 5, JSON.stringify(got.chunks.map((c) => c.text)));
  assert.deepEqual(spoken.map((c) => c.text.split(' ')[0]), ['The', 'Birds', 'A', 'Children', 'The']);
  assert.ok(got.first <= got.total / 3, `time to first audio ${got.first} ms > 1/3 of ${got.total} ms`);
  assert.equal(got.lengths[0], got.lengths[1]);
  assert.equal(got.maxDiff, 0, 'the streamed chunks are generate\'s audio for the same pieces');
  assert.ok(got.wordsEqual);
  assert.ok(Math.abs(got.lengths[2] - got.lengths[0]) < 24000, 'one piece or five: about as long');
  // chunk starts are where the previous chunks end
  let at = 0;
  for (const c of got.chunks) { assert.equal(Math.round(c.start * 24000), at); at += c.length; }
  assert.deepEqual(got.longTasks, [], 'the main thread never blocked for more than 50 ms');
});

test('every chunk says where its time went, stage by stage, and generate adds them up', async () => {
  const got = await page.evaluate(async () => {
    const text = 'Hello there. How are you today?';
    const start = performance.now();
    const chunks = [];
    for await (const c of window.tts.stream(text, { voice: 'af_test' })) chunks.push({ phonemes: c.phonemes, stageMs: c.stageMs });
    const streamMs = performance.now() - start;
    const before = performance.now();
    const whole = await window.tts.generate(text, { voice: 'af_test' });
    return { chunks, streamMs, whole: whole.stageMs, generateMs: performance.now() - before };
  });
  const stages = ['albert', 'predictor', 'textEncoder', 'decoder', 'generator', 'istft'];
  const total = (ms) => stages.reduce((sum, name) => sum + ms[name], 0);
  for (const ms of [...got.chunks.map((c) => c.stageMs), got.whole]) {
    assert.deepEqual(Object.keys(ms).sort(), [...stages].sort());
    for (const name of stages) assert.ok(Number.isFinite(ms[name]) && ms[name] >= 0, `${name}: ${ms[name]}`);
  }
  const spoken = got.chunks.filter((c) => c.phonemes);
  assert.equal(spoken.length, 2, 'one piece per sentence');
  for (const c of spoken) assert.ok(c.stageMs.generator > 0, JSON.stringify(c.stageMs));
  assert.ok(total(got.whole) > 0 && total(got.whole) <= got.generateMs, `${total(got.whole)} ms of stages in ${got.generateMs} ms`);
  assert.ok(got.chunks.reduce((sum, c) => sum + total(c.stageMs), 0) <= got.streamMs);
});

test('word times are the predicted durations, frame for frame', async () => {
  const got = await page.evaluate(async () => {
    const { default: init, phonemize } = await import('/pkg/tritone.js');
    await init();
    const text = 'Hello there, tiny world!';
    const chunks = [];
    let samples = 0;
    for await (const c of window.tts.stream(text, { voice: 'af_test' })) {
      chunks.push({ phonemes: c.phonemes, durations: c.durations, words: c.words, start: c.start });
      samples += c.samples.length;
    }
    return { chunks, samples, words: phonemize(text, 'en-us', false).segments.flatMap((s) => s.words) };
  });
  const [chunk] = got.chunks.filter((c) => c.phonemes);
  assert.equal(got.chunks.filter((c) => c.phonemes).length, 1, 'one sentence, one piece');
  // token i + 1 is the piece's character i (token 0 is the boundary); the speech is the frames
  const frames = chunk.durations.reduce((a, b) => a + b, 0);
  const samplesPerFrame = got.samples / frames;
  assert.ok(Number.isInteger(samplesPerFrame), `${got.samples} samples for ${frames} frames`);
  const chars = [...chunk.phonemes];
  const frameStart = [0];
  for (const d of chunk.durations) frameStart.push(frameStart.at(-1) + d);
  let cursor = 0;
  const expected = [];
  for (const w of got.words) {
    const target = [...w.phonemes];
    if (!target.length) continue;
    let at = cursor;
    while (at + target.length <= chars.length && chars.slice(at, at + target.length).join('') !== w.phonemes) at++;
    assert.ok(at + target.length <= chars.length, `${w.text} (${w.phonemes}) not in ${chunk.phonemes}`);
    expected.push({ text: w.text, start: frameStart[at + 1] * samplesPerFrame / 24000, end: frameStart[at + target.length + 1] * samplesPerFrame / 24000 });
    cursor = at + target.length;
  }
  assert.ok(expected.length >= 4);
  assert.equal(chunk.words.length, expected.length);
  for (const [w, e] of chunk.words.map((w, i) => [w, expected[i]])) {
    assert.equal(w.text, e.text);
    assert.ok(Math.abs(w.start - e.start) < 1e-9 && Math.abs(w.end - e.end) < 1e-9, `${JSON.stringify(w)} vs ${JSON.stringify(e)}`);
  }
});

test('cancel stops within a chunk; the engine goes on; errors are TritoneErrors with codes', async () => {
  const got = await page.evaluate(async (text) => {
    const { TritoneError, TritoneTTS } = await import('/pkg/index.js');
    const controller = new AbortController();
    const t0 = performance.now();
    let chunks = 0;
    let cancelled = null;
    let chunkMs = 0;
    try {
      for await (const chunk of window.tts.stream(text.repeat(4), { voice: 'af_test', signal: controller.signal })) {
        chunks++;
        chunkMs = performance.now() - t0;
        if (chunk.text) controller.abort();
      }
    } catch (e) {
      cancelled = { code: e.code, isTritone: e instanceof TritoneError, afterAbortMs: performance.now() - t0 - chunkMs };
    }
    const error = async (f) => { try { await f(); return null; } catch (e) { return { name: e.name, code: e.code, message: e.message, isTritone: e instanceof TritoneError }; } };
    const tts = window.tts;
    return {
      chunks, cancelled, chunkMs,
      after: (await tts.generate('Still here.', { voice: 'af_test' })).samples.length,
      blend: (await tts.generate('Still here.', { voice: 'af_test(2)+am_other(1)' })).samples.length,
      unknownVoice: await error(() => tts.generate('Hi.', { voice: 'nobody' })),
      badOption: await error(() => tts.generate('Hi.', { voice: 'af_test', sped: 2 })),
      badSpeed: await error(() => tts.generate('Hi.', { voice: 'af_test', speed: -1 })),
      badSsml: await error(() => tts.generate('<speak><foo', { voice: 'af_test', ssml: true })),
      empty: await error(() => tts.generate('   ', { voice: 'af_test' })),
      notText: await error(() => tts.generate(42, { voice: 'af_test' })),
      preAborted: await error(() => tts.generate('Hi.', { voice: 'af_test', signal: AbortSignal.abort() })),
      badLoad: await error(() => TritoneTTS.load('/small.gguf', { backend: 'opengl' })),
      badLoadOption: await error(() => TritoneTTS.load('/small.gguf', { thread: 2 })),
      badThreads: await error(() => TritoneTTS.load('/small.gguf', { threads: 0 })),
      badInt8: await error(() => TritoneTTS.load('/small.gguf', { int8: 'yes' })),
      missing: await error(() => TritoneTTS.load('/missing.gguf')),
      notModel: await error(() => TritoneTTS.load('/www/favicon.svg')),
    };
  }, PARAGRAPH);
  assert.equal(got.chunks, 1);
  assert.deepEqual({ ...got.cancelled, afterAbortMs: 0 }, { code: 'cancelled', isTritone: true, afterAbortMs: 0 });
  assert.ok(got.cancelled.afterAbortMs < 1000, `cancelled ${got.cancelled.afterAbortMs} ms after abort()`);
  assert.ok(got.after > 0 && got.blend > 0, 'the worker still speaks after a cancel');
  const refused = (e, code, pattern) => {
    assert.equal(e?.isTritone, true, JSON.stringify(e));
    assert.equal(e.name, 'TritoneError');
    assert.equal(e.code, code, JSON.stringify(e));
    assert.match(e.message, pattern);
  };
  refused(got.unknownVoice, 'unknown_voice', /unknown voice "nobody"; this model has: af_test, am_other/);
  refused(got.badOption, 'bad_option', /unknown option "sped"/);
  refused(got.badSpeed, 'bad_option', /speed/);
  refused(got.badSsml, 'bad_ssml', /./);
  refused(got.empty, 'empty_input', /nothing to speak/);
  refused(got.notText, 'bad_option', /must be a string or an \(async\) iterable of strings, got number/);
  refused(got.preAborted, 'cancelled', /cancelled/);
  refused(got.badLoad, 'bad_option', /backend: "opengl": expected "auto", "webgpu" or "cpu"/);
  refused(got.badLoadOption, 'bad_option', /unknown load option "thread"/);
  refused(got.badThreads, 'bad_option', /threads: 0: expected "auto" or a whole number/);
  refused(got.badInt8, 'bad_option', /int8: "yes": expected true or false/);
  refused(got.missing, 'bad_download', /missing\.gguf: HTTP 404/);
  refused(got.notModel, 'bad_gguf', /not a GGUF file/);
});

test('chunks scheduled back to back in Web Audio play seamlessly', async () => {
  const got = await page.evaluate(async (text) => {
    const chunks = [];
    for await (const c of window.tts.stream(text, { voice: 'af_test' })) chunks.push(c);
    const length = chunks.reduce((n, c) => n + c.samples.length, 0);
    const joined = new Float32Array(length);
    chunks.reduce((at, c) => (joined.set(c.samples, at), at + c.samples.length), 0);
    // play.js's schedule: each chunk at the speech's start + chunk.start.
    const ctx = new OfflineAudioContext(1, length, 24000);
    for (const c of chunks.filter((c) => c.samples.length)) {
      const buffer = ctx.createBuffer(1, c.samples.length, 24000);
      buffer.copyToChannel(c.samples, 0);
      const source = ctx.createBufferSource();
      source.buffer = buffer;
      source.connect(ctx.destination);
      source.start(c.start);
    }
    const rendered = (await ctx.startRendering()).getChannelData(0);
    let maxDiff = 0;
    let maxStep = 0;
    for (let i = 0; i < length; i++) maxDiff = Math.max(maxDiff, Math.abs(rendered[i] - joined[i]));
    for (let i = 1; i < length; i++) maxStep = Math.max(maxStep, Math.abs(joined[i] - joined[i - 1]));
    let seamStep = 0;
    for (const c of chunks.slice(1)) {
      const i = Math.round(c.start * 24000);
      if (i > 0 && i < length) seamStep = Math.max(seamStep, Math.abs(rendered[i] - rendered[i - 1]));
    }
    return { maxDiff, maxStep, seamStep, chunks: chunks.length };
  }, PARAGRAPH.split('. ').slice(0, 3).join('. '));
  console.log(`web audio: ${got.chunks} chunks, rendered vs joined max diff ${got.maxDiff}, largest step at a seam ${got.seamStep.toFixed(4)} (signal's own ${got.maxStep.toFixed(4)})`);
  assert.ok(got.maxDiff < 1e-6, `rendered audio differs from the joined chunks by ${got.maxDiff}`);
  assert.ok(got.seamStep <= got.maxStep, 'no discontinuity at a seam larger than the signal\'s own steps');
});

test('worker: false runs on the main thread (and blocks it: what the worker is for)', async () => {
  const got = await page.evaluate(async () => {
    const { TritoneTTS } = await import('/pkg/index.js');
    const tts = await TritoneTTS.load('/small.gguf', { worker: false });
    const before = window.longTasks.length;
    const audio = await tts.generate('The sun rose over the quiet town.', { voice: 'af_test', seed: 3 });
    await new Promise((r) => setTimeout(r, 100)); // long-task entries arrive asynchronously
    const inWorker = await window.tts.generate('The sun rose over the quiet town.', { voice: 'af_test', seed: 3 });
    tts.dispose();
    let same = audio.samples.length === inWorker.samples.length;
    for (let i = 0; same && i < audio.samples.length; i++) same = audio.samples[i] === inWorker.samples[i];
    return { worker: tts.worker, longest: Math.max(0, ...window.longTasks.slice(before).map((t) => t.duration)), same };
  });
  assert.equal(got.worker, false);
  assert.ok(got.same, 'the same audio in the worker and on the main thread');
  assert.ok(got.longest > 50, `the long-task check sees a blocked main thread (${got.longest} ms)`);
});
