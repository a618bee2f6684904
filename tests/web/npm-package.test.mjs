// The npm package as a user gets it: `npm pack` of pkg/, `npm install` of the tarball into an
// empty project, then (1) a page importing the raw module from node_modules runs the conformance
// suite on both backends, (2) Node speaks to a WAV file through `import { TritoneTTS } from
// 'tritone-tts'`, (3) a Vite app using the package builds with `vite build` and its page speaks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, root, serve } from './harness.mjs';

const model = `${root}target/web-fixtures/small.gguf`;
let project, filename, browser;

before(async () => {
  project = mkdtempSync(join(tmpdir(), 'tritone-npm-'));
  const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });
  const tarball = npm(['pack', '--json', `--pack-destination=${project}`], `${root}pkg`);
  const packed = JSON.parse(tarball)[0];
  filename = packed.filename;
  const files = packed.files.map((f) => f.path);
  for (const f of ['index.js', 'node.js', 'worker.js', 'index.d.ts', 'tritone.js', 'tritone.d.ts', 'tritone_bg.wasm', 'package.json']) {
    assert.ok(files.includes(f), `${f} missing from the tarball: ${files}`);
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  npm(['install', `./${filename}`], project);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test('the installed package runs the conformance suite in a page', async () => {
  const installed = JSON.parse(readFileSync(join(project, 'node_modules/tritone-tts/package.json'), 'utf8'));
  assert.equal(installed.name, 'tritone-tts');
  writeFileSync(join(project, 'index.html'), `<!doctype html><script type="module">
    import init, { Runtime } from './node_modules/tritone-tts/tritone.js';
    await init();
    const runtime = await Runtime.create();
    const reports = [await runtime.selfTest('cpu')];
    if (runtime.backends().gpu) reports.push(await runtime.selfTest('webgpu'));
    // Errors are TritoneErrors with a stable code, in the installed package too.
    let error = null;
    try { await runtime.selfTest('opengl'); } catch (e) { error = { isError: e instanceof Error, name: e.name, code: e.code, message: e.message }; }
    window.result = { reports, error };
  </script>`);

  const server = await serve(project);
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.result, null, { timeout: 180_000 });
    const { reports, error } = await page.evaluate(() => window.result);
    assert.equal(reports.length, 2, 'WebGPU must be available to the installed package');
    for (const r of reports) {
      console.log(`installed ${filename}: ${r.backend} conformance ${r.pass ? 'PASS' : 'FAIL'}: ${r.passed} passed, ${r.unsupported} unsupported, ${r.failed} failed`);
      const failed = r.cases.filter((c) => c.outcome === 'fail');
      assert.equal(r.failed, 0, JSON.stringify(failed));
      assert.equal(r.pass, true);
      assert.equal(r.passed + r.unsupported + r.failed, r.cases.length);
      for (const c of r.cases) assert.ok(['pass', 'fail', 'unsupported'].includes(c.outcome), `${c.name}: ${c.outcome}`);
    }
    assert.equal(reports[0].unsupported, 0, 'the CPU runs every case');
    assert.ok(reports[0].cases.length >= 120, `${reports[0].cases.length} cases`);
    assert.deepEqual(error, { isError: true, name: 'TritoneError', code: 'bad_option', message: error?.message });
    assert.match(error.message, /unknown backend "opengl"/);
  } finally {
    server.close();
  }
});

test('Node: import { TritoneTTS } from "tritone-tts" speaks to a WAV file', () => {
  writeFileSync(join(project, 'speak.mjs'), `
    import { writeFileSync } from 'node:fs';
    import { TritoneTTS, TritoneError } from 'tritone-tts';
    const tts = await TritoneTTS.load(process.argv[2]);
    const audio = await tts.generate('Hello from Node.', { voice: 'af_test' });
    writeFileSync('node.wav', audio.toWav());
    let error = null;
    try { await TritoneTTS.load('missing.gguf'); } catch (e) { error = { code: e.code, tritone: e instanceof TritoneError, message: e.message }; }
    console.log(JSON.stringify({ samples: audio.samples.length, words: audio.words, backend: tts.backendName, worker: tts.worker, error }));
  `);
  const out = JSON.parse(execFileSync('node', ['speak.mjs', model], { cwd: project, encoding: 'utf8' }));
  const wav = readFileSync(join(project, 'node.wav'));
  console.log(`node: ${out.samples} samples on ${out.backend}, words ${out.words.map((w) => w.text).join(' ')}`);
  assert.equal(wav.toString('latin1', 0, 4), 'RIFF');
  assert.equal(wav.toString('latin1', 8, 16), 'WAVEfmt ');
  assert.equal(wav.readUInt32LE(24), 24000);
  assert.equal(wav.readUInt16LE(34), 16);
  assert.equal(wav.readUInt32LE(40), out.samples * 2);
  assert.equal(wav.length, 44 + out.samples * 2);
  assert.ok(out.samples > 1000);
  assert.deepEqual(out.words.map((w) => w.text), ['Hello', 'from', 'Node', '.']);
  assert.equal(out.worker, false);
  assert.equal(out.error.code, 'io');
  assert.equal(out.error.tritone, true);
  assert.match(out.error.message, /missing\.gguf: .*ENOENT/);
});

test('TypeScript: a consumer type-checks against the package\'s types', () => {
  writeFileSync(join(project, 'consumer.ts'), `
    import { TritoneTTS, TritoneError, type SpeechChunk, type WordTime } from 'tritone-tts';
    async function main(): Promise<number> {
      const tts: TritoneTTS = await TritoneTTS.load('/model.gguf', { backend: 'auto', progress: ({ loaded, total }) => void (loaded / total) });
      const audio = await tts.generate('Hi.', { voice: tts.voices[0].id, speed: 1, seed: 0 });
      const wav: Uint8Array = audio.toWav();
      const words: WordTime[] = audio.words;
      for await (const chunk of tts.stream('Hi. There.', { signal: new AbortController().signal })) {
        const c: SpeechChunk = chunk;
        void c.samples.length;
      }
      try { await tts.generate('x'); } catch (e) { if (e instanceof TritoneError) return e.code.length; }
      return wav.length + words.length + (tts.backend === 'cpu' ? 1 : 0);
    }
    void main;
  `);
  // and a mistake the types must catch
  writeFileSync(join(project, 'wrong.ts'), `
    import { TritoneTTS } from 'tritone-tts';
    const tts = await TritoneTTS.load('/m.gguf', { backend: 'opengl' });
    export {};
  `);
  const tsc = (file) => execFileSync(`${root}node_modules/.bin/tsc`, ['--noEmit', '--strict', '--target', 'es2022', '--module', 'esnext',
    '--moduleResolution', 'bundler', '--lib', 'es2022,dom,dom.iterable', file], { cwd: project, encoding: 'utf8', stdio: 'pipe' });
  tsc('consumer.ts');
  assert.throws(() => tsc('wrong.ts'), (e) => /Type '"opengl"' is not assignable to type 'Backend/.test(e.stdout));
});

test('Vite: an app importing tritone-tts builds with `vite build` and its page speaks', async () => {
  const app = join(project, 'vite-app');
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'index.html'), '<!doctype html><title>vite app</title><script type="module" src="./main.js"></script>');
  writeFileSync(join(app, 'main.js'), `
    import { TritoneTTS } from 'tritone-tts';
    const tts = await TritoneTTS.load('/small.gguf');
    const audio = await tts.generate('Hello from Vite.', { voice: 'af_test' });
    window.result = { samples: audio.samples.length, worker: tts.worker, words: audio.words.map((w) => w.text) };
  `);
  execFileSync(`${root}node_modules/.bin/vite`, ['build', '--logLevel', 'warn'], { cwd: app, encoding: 'utf8' });
  const assets = readdirSync(join(app, 'dist/assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), `no wasm among ${assets}`);
  assert.ok(assets.some((f) => /worker/.test(f)), `no worker among ${assets}`);
  const server = await serve(join(app, 'dist'), 0, { '/small.gguf': model });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.result, null, { timeout: 120_000 }).catch(() => assert.fail(`no result: ${errors}`));
    const result = await page.evaluate(() => window.result);
    console.log(`vite build: ${assets.join(', ')}; the page spoke ${result.samples} samples in a worker: ${result.worker}`);
    assert.equal(result.worker, true);
    assert.ok(result.samples > 1000);
    assert.deepEqual(result.words, ['Hello', 'from', 'Vite', '.']);
  } finally {
    server.close();
  }
});
