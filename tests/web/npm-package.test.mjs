// The npm package as a user gets it: `npm pack` of pkg/, `npm install` of the tarball into an
// empty project, and a page that imports `tritone-tts` from node_modules and runs the conformance
// suite (Runtime.selfTest) in headless Chromium on both backends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, root, serve } from './harness.mjs';

test('npm install of the packed package works in a page', async () => {
  const project = mkdtempSync(join(tmpdir(), 'tritone-npm-'));
  const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });
  const tarball = npm(['pack', '--json', `--pack-destination=${project}`], `${root}pkg`);
  const { filename, files } = JSON.parse(tarball)[0];
  const packed = files.map((f) => f.path);
  for (const f of ['tritone.js', 'tritone.d.ts', 'tritone_bg.wasm', 'package.json']) {
    assert.ok(packed.includes(f), `${f} missing from the tarball: ${packed}`);
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  npm(['install', `./${filename}`], project);
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
  const browser = await launchBrowser();
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
    await browser.close();
    server.close();
  }
});
