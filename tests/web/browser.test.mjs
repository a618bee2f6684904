// Tier 3: the wasm package in headless Chromium. The diagnostics page runs the conformance suite
// (every op of the backend op set × every weight format, against the f64 reference backend) on
// the CPU simd128 path and on WebGPU, on whatever adapter Chromium offers (SwiftShader on
// machines without a GPU). Fails, rather than skips, without navigator.gpu.
// Needs `scripts/build-wasm.sh` first (scripts/test.sh does it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { launchBrowser, root, serve } from './harness.mjs';
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

test('diagnostics page: the conformance suite passes on CPU simd128 (f32 and int8) and WebGPU', async () => {
  const { page, errors } = await openPage();
  await page.goto(`${base}diagnostics.html`);
  const info = await adapterInfo(page);
  assert.ok(info, 'navigator.gpu or its adapter is missing: the browser tier needs WebGPU');
  console.log(`browser adapter: ${JSON.stringify(info)}`);
  await page.waitForFunction(() => document.body.dataset.conformance, null, { timeout: 300_000 });
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: `${screenshotDir}diagnostics.png`, fullPage: true });
  console.log(`screenshot: ${screenshotDir}diagnostics.png`);
  const text = (id) => page.locator(`#${id}`).innerText();
  console.log(`diagnostics page: GPU = ${await text('gpu')}; CPU = ${await text('cpu')}; verdict = ${await text('verdict')}`);
  const { reports, simd128 } = await page.evaluate(async () => {
    const { simd128 } = await import('./pkg/tritone.js');
    return { reports: window.conformance, simd128: simd128() };
  });
  const { cpu, webgpu, 'cpu-int8': int8 } = reports ?? {};
  for (const r of [cpu, int8, webgpu].filter(Boolean)) {
    console.log(`${r.backend}: ${r.cases.length} cases, ${r.passed} passed, ${r.unsupported} unsupported, ${r.failed} failed`);
    for (const c of r.cases.filter((c) => c.outcome === 'fail')) console.log(`  FAIL ${c.name}: ${c.message ?? c.maxRelError}`);
  }
  const state = await page.evaluate(() => document.body.dataset.conformance);
  assert.equal(state, 'pass', `conformance ${state}: ${await text('error')}; page errors: ${errors}`);
  assert.match(await text('gpu'), /WebGPU/);
  assert.equal(await text('cpu'), 'CPU SIMD (wasm simd128)');
  assert.equal(simd128, true, 'the wasm build must use simd128');

  assert.ok(cpu, 'a CPU report');
  assert.equal(cpu.failed, 0);
  assert.equal(cpu.unsupported, 0, 'the CPU runs every op in every format');
  assert.ok(cpu.cases.length >= 120, `${cpu.cases.length} CPU cases`);
  assert.equal(cpu.passed, cpu.cases.length);

  assert.ok(webgpu, 'a WebGPU report: wgpu found no adapter');
  assert.equal(webgpu.failed, 0);
  assert.equal(webgpu.unsupported, 0, 'WebGPU runs every op in every format');
  assert.equal(webgpu.cases.length, cpu.cases.length, 'the same suite on both backends');
  assert.equal(webgpu.passed, webgpu.cases.length);
  for (const r of [cpu, webgpu]) assert.equal(r.passed + r.unsupported + r.failed, r.cases.length);

  // int8: the simd128 i16-dot kernel, its convolutions within int8 rounding and really int8
  assert.ok(int8, 'an int8 CPU report');
  assert.equal(int8.backend, 'CPU (wasm simd128, int8 convolutions: simd128 i16 dot + Winograd F(6,3)/F(6,4))');
  assert.equal(int8.failed, 0);
  assert.equal(int8.passed, cpu.cases.length);
  // the wide convolutions, in the page all through Winograd F(6,3) or F(6,4) (3 taps and more)
  for (const name of ['conv1d_generator_k7_d3', 'conv1d_text_encoder_k5', 'conv1d_generator_k3_d5']) {
    const wide = int8.cases.find((c) => c.name === name);
    assert.ok(wide.maxRelError > 1e-4 && wide.maxRelError <= 0.01, `${name} in int8: ${wide.maxRelError}`);
  }

  const rows = await page.locator('#cases tbody tr').count();
  assert.equal(rows, 3 * cpu.cases.length, 'one row per case per backend');
  assert.equal(await page.locator('#summary tbody tr').count(), 3, 'a summary per backend');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the demo page links to the diagnostics and runs no suite itself', async () => {
  const { page, errors } = await openPage();
  await page.goto(base);
  await page.waitForFunction(() => !document.getElementById('cpu').innerText.includes('checking'), null, { timeout: 60_000 });
  assert.equal(await page.locator('#cpu').innerText(), 'CPU SIMD (wasm simd128)');
  assert.equal(await page.locator('#selftest-panel').count(), 0);
  assert.equal(await page.locator('footer a[href="diagnostics.html"]').count(), 1);
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: `${screenshotDir}demo.png`, fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('the diagnostics page shows an error it cannot run past', async () => {
  const { page } = await openPage();
  // No wasm module: init() rejects, the page says so instead of spinning.
  await page.route('**/tritone_bg.wasm', (route) => route.fulfill({ status: 404, body: 'not found' }));
  await page.goto(`${base}diagnostics.html`);
  await page.waitForFunction(() => document.body.dataset.conformance, null, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.conformance), 'error');
  assert.equal(await page.locator('#verdict').innerText(), 'error');
  assert.ok(await page.locator('#error').isVisible());
  assert.notEqual((await page.locator('#error').innerText()).trim(), '');
  await page.close();
});

test('bad requests reject with clear errors', async () => {
  const { page } = await openPage();
  await page.goto(base);
  const error = await page.evaluate(async () => {
    const { default: init, Runtime } = await import('./pkg/tritone.js');
    await init();
    const runtime = await Runtime.create();
    try {
      await runtime.selfTest('opengl');
      return null;
    } catch (e) {
      return { isError: e instanceof Error, name: e.name, code: e.code, message: e.message };
    }
  });
  assert.ok(error, 'selfTest("opengl") must reject');
  assert.equal(error.isError, true);
  assert.equal(error.name, 'TritoneError');
  assert.equal(error.code, 'bad_option');
  assert.match(error.message, /unknown backend "opengl"/);
  await page.close();
});
