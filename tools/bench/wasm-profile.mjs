// Where the page's engine spends its time: tritone's wasm under V8's sampling profiler (in
// node: the same engine as Chromium's), self time per Rust function. wasm-pack's wasm-opt drops
// the function names, so profile a build that keeps them:
//
//   CARGO_TARGET_DIR=target/wasm-names cargo build --release --target wasm32-unknown-unknown --lib
//   wasm-bindgen --target web --out-dir target/wasm-names/pkg --out-name tritone \
//     target/wasm-names/wasm32-unknown-unknown/release/tritone.wasm
//   node tools/bench/wasm-profile.mjs --pkg target/wasm-names/pkg --phonemes "$(tritone phonemize "…")" [--int8]
//                                     [--model target/real/kokoro-f32.gguf] [--voice jf_alpha] [--runs 2] [--top 20]
//
// The first run warms up (compiles) and is not profiled.
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    pkg: { type: 'string', default: 'target/wasm-names/pkg' },
    model: { type: 'string', default: 'target/real/kokoro-f32.gguf' },
    phonemes: { type: 'string' },
    voice: { type: 'string', default: 'jf_alpha' },
    int8: { type: 'boolean', default: false },
    runs: { type: 'string', default: '2' },
    top: { type: 'string', default: '20' },
  },
});
if (!a.phonemes) throw new Error('--phonemes is required (tritone phonemize "text" prints them)');

const wasm = await import(pathToFileURL(resolve(a.pkg, 'tritone.js')).href);
await wasm.default({ module_or_path: readFileSync(resolve(a.pkg, 'tritone_bg.wasm')) });
const tts = await wasm.Tts.create(readFileSync(a.model), 'cpu', a.int8);
await tts.speak(a.phonemes, a.voice, 1.0, 0);

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.start');
let audio = 0;
const started = performance.now();
for (let i = 0; i < Number(a.runs); i++) audio += (await tts.speak(a.phonemes, a.voice, 1.0, 0)).audio.length / 24000;
const wall = (performance.now() - started) / 1000;
const { profile } = await session.post('Profiler.stop');
session.disconnect();

// Self time per function name: each sample is charged to the node it landed in.
const names = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName || n.callFrame.url || '(anonymous)']));
const self = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  const name = names.get(id).replace(/::h[0-9a-f]{16}$/, '');
  self.set(name, (self.get(name) ?? 0) + dt);
  total += dt;
});
console.log(`${a.runs} runs, ${audio.toFixed(2)} s of audio in ${wall.toFixed(2)} s (RTF ${(wall / audio).toFixed(3)}), ${a.int8 ? 'int8' : 'f32'}; self time:`);
for (const [name, t] of [...self].sort((x, y) => y[1] - x[1]).slice(0, Number(a.top))) {
  console.log(`${(t / 1e6).toFixed(2).padStart(8)} s ${((100 * t) / total).toFixed(1).padStart(5)} %  ${name}`);
}
