// Bench page (bench.html): tritone and onnxruntime-web (WASM backend) on the same phonemes,
// voice and thread count in the same tab, timed runs alternating after one untimed run each.
// tritone runs as users run it: the TritoneTTS API, its engine in a worker (with more than one
// thread, the threaded build on a pool of workers). Writes `DONE {json}` or `ERROR message` into
// <pre id="result"> for tools/bench/web.mjs.
//
// Parameters: model (tritone GGUF URL), onnx (Kokoro ONNX export URL), threads (both engines';
// more than one needs a cross-origin isolated page), runs, voice (default: the GGUF's first),
// text (English, default the paragraph below), ort (the onnxruntime-web ES module).
import { TritoneTTS } from './pkg/index.js';

// tools/bench/compare.py's paragraph: both benches speak the same text.
const PARAGRAPH = 'The old lighthouse keeper climbed the winding stairs every evening at dusk. '
  + 'From the top, he could see the fishing boats returning to the harbor, their lights '
  + 'flickering like tiny stars on the dark water. He had done this for forty years, and '
  + 'he never grew tired of the view.';
// Kokoro's largest input without the two boundary tokens.
const MAX_PHONEMES = 510;

const $ = (id) => document.getElementById(id);
const status = (text) => { $('status').textContent = text; };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function download(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function main() {
  const q = new URLSearchParams(location.search);
  const threads = Number(q.get('threads') ?? 1);
  const runs = Number(q.get('runs') ?? 3);
  const int8 = q.get('int8') === '1';
  if (!q.get('model') || !q.get('onnx')) throw new Error('bench.html needs ?model=URL (a tritone GGUF) and &onnx=URL (a Kokoro ONNX export)');
  if (!(Number.isInteger(threads) && threads >= 1 && Number.isInteger(runs) && runs >= 1)) throw new Error('threads and runs must be positive integers');
  if (threads > 1 && !crossOriginIsolated) throw new Error(`threads=${threads} needs a cross-origin isolated page (COOP/COEP headers); this one is not`);

  status('loading tritone and onnxruntime-web…');
  // The plain module on this thread only reads the GGUF and phonemizes.
  const { default: init, phonemize, inspectGguf, ggufTensorF32 } = await import('./pkg/tritone.js');
  await init();
  const ort = await import(q.get('ort') ?? '/ort/ort.wasm.min.mjs');
  const [gguf, onnx] = await Promise.all([download(q.get('model')), download(q.get('onnx'))]);

  // The ONNX graph's inputs come from the GGUF: its token table and the voice's style rows.
  const header = inspectGguf(gguf, true);
  const meta = (key) => header.metadata.find(([k]) => k === key)?.[1];
  const tokens = meta('tokenizer.ggml.tokens');
  const voices = meta('kokoro.voices');
  const voice = q.get('voice') ?? voices?.[0];
  if (!tokens || !voices?.includes(voice)) throw new Error(`the model has no token table or no voice ${voice}`);
  const id = new Map(tokens.map((t, i) => [t, i]));
  const phonemes = [...phonemize(q.get('text') ?? PARAGRAPH, 'en-us', false).phonemes].filter((c) => id.has(c)).join('');
  if ([...phonemes].length > MAX_PHONEMES) throw new Error(`${[...phonemes].length} phonemes: the ONNX graph takes at most ${MAX_PHONEMES}`);
  const ids = [0, ...[...phonemes].map((c) => id.get(c)), 0];
  const pack = ggufTensorF32(gguf, `voices.${voice}`);
  const row = [...phonemes].length - 1; // the reference pipeline's style row: phonemes − 1
  const style = pack.slice(row * 256, (row + 1) * 256);

  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = q.get('ortWasm') ?? '/ort/';
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
  const feeds = {
    tokens: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
    style: new ort.Tensor('float32', style, [1, 256]),
    speed: new ort.Tensor('float32', Float32Array.of(1), [1]),
  };
  const tts = await TritoneTTS.load(gguf, { backend: 'cpu', threads, int8, cache: false });
  if (tts.threads !== threads) throw new Error(`tritone runs ${tts.threads} threads, not ${threads}: ${tts.threadsReason}`);

  // tritone's stage times per run: where its time goes (threads help some stages more than others).
  const stages = [];
  const ortRun = async () => (await session.run(feeds))[session.outputNames[0]].data.length;
  const tritoneRun = async () => {
    const audio = await tts.generate(phonemes, { phonemes: true, voice, seed: 0 });
    stages.push(audio.stageMs);
    return audio.samples.length;
  };
  status('warming up…');
  const ortSamples = await ortRun();
  const tritoneSamples = await tritoneRun();
  stages.length = 0;
  const times = { tritone: [], onnxruntime: [] };
  for (let i = 0; i < runs; i++) {
    for (const [name, run] of [['tritone', tritoneRun], ['onnxruntime', ortRun]]) {
      status(`run ${i + 1} of ${runs}: ${name}`);
      const start = performance.now();
      await run();
      times[name].push((performance.now() - start) / 1000);
    }
  }
  const engine = (name, samples, extra) => {
    const s = median(times[name]);
    const audio = samples / 24000;
    return { median_s: s, audio_s: audio, rtf: s / audio, runs_s: times[name], ...extra };
  };
  const result = {
    phonemes, voice, threads, int8, runs, crossOriginIsolated, userAgent: navigator.userAgent,
    tritone: engine('tritone', tritoneSamples, {
      backend: tts.backendName,
      threads: tts.threads,
      stages_ms: Object.fromEntries(Object.keys(stages[0]).map((name) => [name, median(stages.map((s) => s[name]))])),
    }),
    onnxruntime: engine('onnxruntime', ortSamples, { version: ort.env.versions?.web ?? null, threads }),
  };
  result.ratio_rtf = result.tritone.rtf / result.onnxruntime.rtf;
  status(`tritone RTF ${result.tritone.rtf.toFixed(3)}, onnxruntime-web RTF ${result.onnxruntime.rtf.toFixed(3)}: tritone / onnxruntime-web = ${result.ratio_rtf.toFixed(2)}`);
  $('result').textContent = `DONE ${JSON.stringify(result)}`;
}

main().catch((e) => {
  status('failed');
  $('result').textContent = `ERROR ${e?.message ?? e}`;
});
