// The bench page against onnxruntime-web (tools/bench/web.mjs → www/bench.html): both engines
// speak the same sentence in one cross-origin isolated tab, both on 2 threads (tritone's
// threaded build), and the page reports times, RTFs and their ratio. Speed itself is not asserted (README, "Speed").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { root } from './harness.mjs';

const model = `${root}target/real/kokoro-f16.gguf`;
const onnx = `${root}target/real/kokoro-v1.0.int8.onnx`;

test('the bench page runs tritone and onnxruntime-web on the same input', () => {
  for (const f of [model, onnx]) assert.ok(existsSync(f), `${f} missing: run scripts/real-model.sh`);
  const out = `${root}target/bench-web.json`;
  const log = execFileSync('node', [`${root}tools/bench/web.mjs`, '--model', model, '--onnx', onnx, '--threads', '2', '--runs', '1',
    '--text', 'The quick brown fox jumps over the lazy dog.', '--json', out], { encoding: 'utf8', timeout: 600_000 });
  console.log(log.trim());
  const r = JSON.parse(readFileSync(out, 'utf8'))[2];
  assert.equal(r.crossOriginIsolated, true);
  assert.equal(r.onnxruntime.threads, 2);
  assert.equal(r.tritone.threads, 2);
  assert.equal(r.tritone.backend, 'CPU (wasm simd128, 2 threads)');
  assert.equal(r.voice, 'jf_alpha');
  // Same phonemes, voice and style row: the durations agree, so the lengths do too (within a few frames).
  assert.ok(r.tritone.audio_s > 2 && r.tritone.audio_s < 6, `tritone spoke ${r.tritone.audio_s} s`);
  assert.ok(Math.abs(r.tritone.audio_s - r.onnxruntime.audio_s) < 0.1, `tritone ${r.tritone.audio_s} s, onnxruntime-web ${r.onnxruntime.audio_s} s`);
  for (const e of [r.tritone, r.onnxruntime]) assert.ok(e.runs_s.length === 1 && e.median_s > 0 && Number.isFinite(e.rtf));
  assert.ok(Math.abs(r.ratio_rtf - r.tritone.rtf / r.onnxruntime.rtf) < 1e-9);
  // where tritone's time went: every stage, the generator most, all of it within the run
  const stages = r.tritone.stages_ms;
  assert.deepEqual(Object.keys(stages).sort(), ['albert', 'decoder', 'generator', 'istft', 'predictor', 'textEncoder']);
  const total = Object.values(stages).reduce((a, b) => a + b, 0);
  assert.ok(Object.values(stages).every((ms) => ms > 0) && stages.generator === Math.max(...Object.values(stages)), JSON.stringify(stages));
  assert.ok(total <= r.tritone.median_s * 1000, `${total} ms of stages in a ${r.tritone.median_s} s run`);
});
