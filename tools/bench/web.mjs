// tritone's wasm against onnxruntime-web in the same headless Chromium, on the same phonemes,
// voice and thread count (www/bench.html does the work; this serves it and reads its result).
//
//   node tools/bench/web.mjs [--model target/real/kokoro-f32.gguf] [--onnx target/real/kokoro-v1.0.int8.onnx]
//                            [--threads 1,2] [--runs 3] [--int8] [--voice V] [--text T] [--json out.json]
//
// The page is served cross-origin isolated (COOP/COEP), so both engines can use threads: with
// more than one, tritone runs its threaded build (pkg/threads). --int8: tritone's CPU convolutions
// in int8 arithmetic (the load option int8: true).
// Needs the wasm package (scripts/build-wasm.sh) and onnxruntime-web (npm ci).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { launchBrowser, root, serve } from '../../tests/web/harness.mjs';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: `${root}target/real/kokoro-f32.gguf` },
    onnx: { type: 'string', default: `${root}target/real/kokoro-v1.0.int8.onnx` },
    threads: { type: 'string', default: '1,2' },
    runs: { type: 'string', default: '3' },
    int8: { type: 'boolean', default: false },
    voice: { type: 'string' },
    text: { type: 'string' },
    json: { type: 'string' },
    timeout: { type: 'string', default: '1800' },
  },
});

const dist = `${root}node_modules/onnxruntime-web/dist/`;
const mounts = { '/models/bench.gguf': a.model, '/models/bench.onnx': a.onnx };
for (const f of ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']) mounts[`/ort/${f}`] = dist + f;
const server = await serve(`${root}www`, 0, mounts, { isolated: true });
const browser = await launchBrowser();
const results = {};
try {
  for (const threads of a.threads.split(',').map(Number)) {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') console.error(`page: ${m.text()}`); });
    const q = new URLSearchParams({ model: '/models/bench.gguf', onnx: '/models/bench.onnx', threads, runs: a.runs });
    if (a.int8) q.set('int8', '1');
    if (a.voice) q.set('voice', a.voice);
    if (a.text) q.set('text', a.text);
    await page.goto(`http://127.0.0.1:${server.address().port}/bench.html?${q}`);
    await page.waitForFunction(() => /^(DONE|ERROR)/.test(document.getElementById('result').textContent), null, { timeout: Number(a.timeout) * 1000, polling: 1000 });
    const text = await page.textContent('#result');
    await page.close();
    if (text.startsWith('ERROR')) throw new Error(`bench.html, threads ${threads}: ${text}`);
    const r = JSON.parse(text.slice('DONE '.length));
    results[threads] = r;
    console.log(`threads ${threads}: onnxruntime-web ${r.onnxruntime.version} (int8 file) median ${r.onnxruntime.median_s.toFixed(2)} s for ${r.onnxruntime.audio_s.toFixed(2)} s, RTF ${r.onnxruntime.rtf.toFixed(3)}; `
      + `tritone (${r.tritone.backend}) median ${r.tritone.median_s.toFixed(2)} s for ${r.tritone.audio_s.toFixed(2)} s, RTF ${r.tritone.rtf.toFixed(3)}; `
      + `tritone / onnxruntime-web = ${r.ratio_rtf.toFixed(2)}`);
    console.log(`  tritone per stage (median ms): ${Object.entries(r.tritone.stages_ms).map(([name, ms]) => `${name} ${ms.toFixed(0)}`).join(', ')}`);
  }
} finally {
  await browser.close();
  server.close();
}
if (a.json) writeFileSync(a.json, JSON.stringify(results, null, 1));
