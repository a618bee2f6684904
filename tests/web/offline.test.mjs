// The offline PWA: after one visit the demo reloads and speaks with the server gone (service
// worker + the verified model in Cache Storage); a model whose SHA-256 does not match, or whose
// download breaks off, is refused with a clear message and never cached, and a retry works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, root, serve } from './harness.mjs';

const model = `${root}target/web-fixtures/small.gguf`;
let browser;

before(async () => {
  assert.ok(existsSync(model), `${model} missing: cargo run --example random_model`);
  assert.ok(existsSync(`${root}www/pkg/index.js`), 'www/pkg missing: scripts/build-wasm.sh');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

const state = (page) => page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state) && (document.body.dataset.model || document.body.dataset.error), null, { timeout: 120_000 }).then(() => page.evaluate(() => ({ ...document.body.dataset })));

async function speak(page) {
  await page.fill('#text', 'Hello world!');
  await page.click('#speak');
  await page.waitForFunction(() => document.body.dataset.spoken || document.body.dataset.error, null, { timeout: 120_000 });
  return page.evaluate(() => ({ ...document.body.dataset }));
}

// Model entries in the library's cache, as URLs.
const cachedModels = (page) => page.evaluate(async () => (await (await caches.open('tritone-models-v1')).keys()).map((r) => r.url));

test('after one visit the page reloads and speaks with the network gone', async () => {
  const site = await serve(`${root}www`, 0, { '/models/kokoro.gguf': model });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${site.address().port}/`);
    const first = await state(page);
    assert.equal(first.error, undefined);
    assert.equal(first.modelFrom, 'download');
    assert.match(await page.locator('#model-status').innerText(), /Kokoro-82M \(default model\): 125\.2 MB, 2 voices/);
    assert.equal((await speak(page)).error, undefined);
    await page.evaluate(() => navigator.serviceWorker.ready);
    assert.deepEqual(await cachedModels(page), [`http://127.0.0.1:${site.address().port}/models/kokoro.gguf`]);
    const manifest = await page.evaluate(async () => (await fetch(document.querySelector('link[rel=manifest]').href)).json());
    assert.equal(manifest.display, 'standalone');
    assert.ok(manifest.icons.some((i) => i.sizes === '512x512'));

    // The network goes: the server stops and the browser is offline.
    site.closeAllConnections();
    await new Promise((r) => site.close(r));
    await context.setOffline(true);
    await page.reload();
    const offline = await state(page);
    assert.equal(offline.error, undefined, `offline: ${offline.error}`);
    assert.equal(offline.modelFrom, 'cache');
    const spoken = await speak(page);
    assert.equal(spoken.error, undefined);
    console.log(`offline reload: ${await page.locator('#model-status').innerText()}; spoke ${spoken.spoken} samples`);
    assert.ok(Number(spoken.spoken) > 1000);
    await page.screenshot({ path: `${root}target/screenshots/demo-offline.png`, fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    site.close();
  }
});

test('a model that fails its SHA-256 or breaks off is refused, never cached, and a retry works', async () => {
  const bytes = readFileSync(model);
  const dir = mkdtempSync(join(tmpdir(), 'tritone-offline-'));
  // The site says the model has another file's hash: a corrupted or swapped download.
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ default: 'models/kokoro.gguf', sha256: '0'.repeat(64) }));
  const site = await serve(`${root}www`, 0, { '/models/kokoro.gguf': model, '/models/index.json': join(dir, 'index.json') });
  // A server whose download stops half way (the length says more is coming).
  const broken = createServer((req, res) => {
    res.writeHead(200, { 'content-length': bytes.length, 'access-control-allow-origin': '*', 'content-type': 'application/octet-stream' });
    res.write(bytes.subarray(0, bytes.length >> 1), () => res.destroy());
  });
  await new Promise((r) => broken.listen(0, '127.0.0.1', r));
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const base = `http://127.0.0.1:${site.address().port}/`;
    await page.goto(base);
    const corrupted = await state(page);
    assert.equal(corrupted.errorCode, 'bad_download');
    assert.match(corrupted.error, /SHA-256 [0-9a-f]{64} does not match the expected 0{64}.*not cached/);
    assert.equal(await page.locator('#speak').isDisabled(), true);
    assert.deepEqual(await cachedModels(page), []);

    const brokenUrl = `http://127.0.0.1:${broken.address().port}/kokoro.gguf`;
    await page.goto(`${base}?model=${encodeURIComponent(brokenUrl)}`);
    const truncated = await state(page);
    assert.equal(truncated.errorCode, 'bad_download', truncated.error);
    assert.match(truncated.error, /broke off after \d+ bytes|truncated download/);
    assert.deepEqual(await cachedModels(page), []);

    // A retry with a good copy works, and only that is cached.
    await page.fill('#model-url', `${base}models/kokoro.gguf`);
    await page.click('#load-url');
    await page.waitForFunction(() => document.body.dataset.model === 'loaded' && document.body.dataset.state === 'ready', null, { timeout: 120_000 });
    assert.deepEqual(await cachedModels(page), [`${base}models/kokoro.gguf`]);
    console.log(`refused: "${corrupted.error}"; "${truncated.error}"`);
  } finally {
    await context.close();
    site.close();
    broken.close();
  }
});
