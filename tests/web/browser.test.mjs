// Tier 3: the wasm package in headless Chromium, WebGPU on whatever adapter Chromium offers
// (SwiftShader on machines without a GPU) and the CPU simd128 path, both compared with values
// computed natively (tests/fixtures/conv1d). Fails, rather than skips, without navigator.gpu.
// Needs `scripts/build-wasm.sh` first (scripts/test.sh does it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { launchBrowser, root, serve } from './harness.mjs';
const fixtures = `${root}tests/fixtures/conv1d/`;
const screenshotDir = `${root}target/screenshots/`;

let server, browser, base;

before(async () => {
  assert.ok(existsSync(`${root}www/pkg/tritone_bg.wasm`), 'www/pkg missing: run scripts/build-wasm.sh');
  server = await serve(`${root}www`);
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.close();
});

async function openPage() {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return { page, errors };
}

async function adapterInfo(page) {
  return page.evaluate(async () => {
    if (!navigator.gpu) return null;
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return null;
    const { vendor, architecture, device, description } = adapter.info;
    return { vendor, architecture, device, description };
  });
}

test('demo page shows the backends and passes its self-test', async () => {
  const { page, errors } = await openPage();
  await page.goto(base);
  await page.waitForFunction(() => document.body.dataset.selftest, null, { timeout: 180_000 });
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: `${screenshotDir}demo.png`, fullPage: true });
  const text = (id) => page.locator(`#${id}`).innerText();
  console.log(`demo page: GPU = ${await text('gpu')}; CPU = ${await text('cpu')}; verdict = ${await text('verdict')}`);
  console.log(`screenshot: ${screenshotDir}demo.png`);
  assert.equal(await page.evaluate(() => document.body.dataset.selftest), 'pass', `self-test failed; page errors: ${errors}`);
  assert.match(await text('gpu'), /WebGPU/);
  assert.equal(await text('cpu'), 'CPU SIMD (wasm simd128)');
  const rows = await page.locator('#selftest tbody tr').count();
  assert.equal(rows, 2 * 9, 'one row per case per backend');
  assert.deepEqual(errors, []);
  await page.close();
});

test('wasm conv1d on WebGPU and CPU simd128 matches native values', async () => {
  const { page } = await openPage();
  await page.goto(base);
  const info = await adapterInfo(page);
  assert.ok(info, 'navigator.gpu or its adapter is missing: the browser tier needs WebGPU');
  console.log(`browser adapter: ${JSON.stringify(info)}`);

  const index = JSON.parse(readFileSync(`${fixtures}index.json`, 'utf8'));
  const cases = index.cases.map((c) => {
    // Small files share Node's buffer pool: view exactly this file's bytes.
    const bytes = readFileSync(fixtures + c.file);
    const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    assert.equal(values.length, c.shape[0] * c.shape[1], `${c.file} size`);
    return { ...c, expected: Array.from(values) };
  });
  const results = await page.evaluate(async (cases) => {
    const { default: init, Runtime, simd128 } = await import('./pkg/tritone.js');
    await init();
    const runtime = await Runtime.create();
    const out = { simd128: simd128(), backends: runtime.backends(), names: runtime.caseNames(), cases: [] };
    for (const c of cases) {
      for (const backend of ['cpu', 'webgpu']) {
        const got = await runtime.runCase(c.name, backend);
        const scale = Math.max(1, ...c.expected.map(Math.abs));
        let err = got.length === c.expected.length ? 0 : Infinity;
        for (let i = 0; i < got.length && err !== Infinity; i++) {
          err = Number.isFinite(got[i]) ? Math.max(err, Math.abs(got[i] - c.expected[i]) / scale) : Infinity;
        }
        out.cases.push({ name: c.name, backend, err, len: got.length });
      }
    }
    return out;
  }, cases);

  console.log(`wasm gpu backend: ${JSON.stringify(results.backends.gpu)}`);
  assert.equal(results.simd128, true, 'the wasm build must use simd128');
  assert.ok(results.backends.gpu, `wgpu found no WebGPU adapter: ${results.backends.gpuError}`);
  assert.deepEqual(results.names, index.cases.map((c) => c.name), 'fixtures cover every standard case');
  for (const r of results.cases) {
    console.log(`${r.backend.padEnd(7)} ${r.name.padEnd(28)} max rel error ${r.err.toExponential(2)}`);
    assert.ok(r.err <= index.tolerance, `${r.backend} ${r.name}: ${r.err} > ${index.tolerance}`);
  }
  assert.equal(results.cases.length, 2 * index.cases.length);
  await page.close();
});

test('bad requests reject with clear errors', async () => {
  const { page } = await openPage();
  await page.goto(base);
  const messages = await page.evaluate(async () => {
    const { default: init, Runtime } = await import('./pkg/tritone.js');
    await init();
    const runtime = await Runtime.create();
    const message = async (f) => { try { await f(); return 'no error'; } catch (e) { return String(e.message ?? e); } };
    return {
      unknownCase: await message(() => runtime.runCase('no_such_case', 'cpu')),
      unknownBackend: await message(() => runtime.runCase('k7_same', 'tpu')),
      unknownSelfTest: await message(() => runtime.selfTest('opengl')),
    };
  });
  assert.match(messages.unknownCase, /unknown case "no_such_case"/);
  assert.match(messages.unknownBackend, /unknown backend "tpu"/);
  assert.match(messages.unknownSelfTest, /unknown backend "opengl"/);
  await page.close();
});
