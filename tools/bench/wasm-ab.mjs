// Two or more wasm builds of tritone against each other in node (V8, Chromium's engine), one
// thread: the same phonemes, voice and seed, runs alternating between the builds so that the
// machine's drift hits them alike. Prints, per build, how many samples differ from the first
// build's and the median and fastest time, each as a ratio to the first build's. This machine
// drifts by ±15 % within minutes: compare builds in one run, never across runs, and trust a
// ratio only where the medians and the fastest runs agree (an A/A run shows the noise).
//
//   CARGO_TARGET_DIR=target/wasm-ab cargo build --release --target wasm32-unknown-unknown --lib
//   wasm-bindgen --target web --out-dir target/wasm-ab/NAME --out-name tritone \
//     target/wasm-ab/wasm32-unknown-unknown/release/tritone.wasm
//   node tools/bench/wasm-ab.mjs --phonemes "$(tritone phonemize "…")" [--int8] [--runs 7] \
//     [--model target/real/kokoro-f32.gguf] [--voice jf_alpha] target/wasm-ab/OLD target/wasm-ab/NEW
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: a, positionals: dirs } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string', default: 'target/real/kokoro-f32.gguf' },
    phonemes: { type: 'string' },
    voice: { type: 'string', default: 'jf_alpha' },
    int8: { type: 'boolean', default: false },
    runs: { type: 'string', default: '7' },
  },
});
if (!a.phonemes) throw new Error('--phonemes is required (tritone phonemize "text" prints them)');
if (dirs.length < 2) throw new Error('give two or more wasm-bindgen output folders');

const model = readFileSync(a.model);
const engines = [];
for (const dir of dirs) {
  // a query string per folder: each build is its own module instance
  const wasm = await import(`${pathToFileURL(resolve(dir, 'tritone.js')).href}?${engines.length}`);
  await wasm.default({ module_or_path: readFileSync(resolve(dir, 'tritone_bg.wasm')) });
  engines.push(await wasm.Tts.create(model, 'cpu', a.int8));
}
const speak = (tts) => tts.speak(a.phonemes, a.voice, 1.0, 0);

// The first run of each warms up (compiles) and gives the samples to compare.
const audio = [];
for (const tts of engines) audio.push((await speak(tts)).audio);
const times = engines.map(() => []);
for (let run = 0; run < Number(a.runs); run++) {
  for (const [i, tts] of engines.entries()) {
    const start = performance.now();
    await speak(tts);
    times[i].push((performance.now() - start) / 1000);
  }
}

const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const seconds = audio[0].length / 24000;
console.log(`${a.runs} alternating runs, ${seconds.toFixed(2)} s of audio${a.int8 ? ', int8' : ''}:`);
for (const [i, dir] of dirs.entries()) {
  const differing = audio[i].length === audio[0].length ? audio[i].reduce((n, v, j) => n + (v !== audio[0][j]), 0) : 'all (other length)';
  const [m, fastest] = [median(times[i]), Math.min(...times[i])];
  console.log(`  ${dir}: median ${m.toFixed(3)} s (${(m / median(times[0])).toFixed(3)}×), fastest ${fastest.toFixed(3)} s (${(fastest / Math.min(...times[0])).toFixed(3)}×), RTF ${(m / seconds).toFixed(3)}; samples differing from the first: ${differing}`);
}
