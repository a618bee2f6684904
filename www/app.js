// The demo: tritone-tts (the same package as on npm, in ./pkg) with the engine in a Web Worker,
// speech streamed into Web Audio sentence by sentence, the spoken word highlighted.
// document.body.dataset.state is loading | ready | speaking | error, for automation.
import { TritoneTTS } from './pkg/index.js';
import init, { Runtime, phonemize, voiceNote } from './pkg/tritone.js';
import { describeAdapter } from './adapter.js';

const $ = (id) => document.getElementById(id);
const PUNCTUATION = /^[\p{P}\p{S}]+$/u;
const setState = (state) => { document.body.dataset.state = state; };

// The raw module on this thread only phonemizes as you type; speech runs in the worker.
const wasmReady = init();
let tts = null;
let player = null;
let lastAudio = null;

if ('serviceWorker' in navigator && location.protocol !== 'file:') {
  // Offline use: the app shell is precached, models are kept in Cache Storage once verified.
  navigator.serviceWorker.register('sw.js').catch((e) => console.warn('no service worker:', e));
}

async function showBackends() {
  await wasmReady;
  const runtime = await Runtime.create();
  const backends = runtime.backends();
  const adapter = await describeAdapter();
  $('gpu').textContent = backends.gpu ? `${adapter ?? backends.gpu.name} (WebGPU)` : `none — ${backends.gpuError}`;
  $('cpu').textContent = backends.simd128 ? 'CPU SIMD (wasm simd128)' : backends.cpu;
  runtime.free();
}

function reportTo(id) {
  return (e) => {
    $(id).textContent = `Error: ${e.message ?? e}`;
    document.body.dataset.error = String(e.message ?? e);
    // TritoneErrors carry a stable code (tests and scripts match it, not the wording).
    if (e.code) document.body.dataset.errorCode = e.code;
    setState(tts ? 'ready' : 'error');
    if (!tts) $('speak').disabled = true;
  };
}

// --- the model -------------------------------------------------------------------------------

async function loadModel(source, name, sha256) {
  setState('loading');
  const bar = $('download');
  bar.hidden = false;
  bar.value = 0;
  const t0 = performance.now();
  let size = 0;
  const phases = { download: 'Downloading', cache: 'From the offline cache', verify: 'Checking SHA-256', read: 'Reading', load: 'Loading' };
  const next = await TritoneTTS.load(source, {
    sha256,
    progress: ({ phase, loaded, total }) => {
      if (phase === 'load') size = loaded;
      if (phase === 'download' || phase === 'cache') document.body.dataset.modelFrom = phase;
      bar.value = total ? loaded / total : 0;
      const mb = (n) => (n / 1e6).toFixed(1);
      $('model-status').textContent = `${phases[phase] ?? phase}… ${mb(loaded)}${total ? ` / ${mb(total)}` : ''} MB`;
    },
  });
  // Releases the previous model's worker (a speech in progress stops).
  player?.stop();
  tts?.dispose();
  tts = next;
  bar.value = 1;
  const voices = tts.voices.map((v) => v.id);
  $('voice').replaceChildren(...voices.map((v) => new Option(v, v)));
  $('voice2').replaceChildren(new Option('—', ''), ...voices.map((v) => new Option(v, v)));
  $('voice').disabled = $('voice2').disabled = $('speak').disabled = voices.length === 0;
  const ms = (performance.now() - t0).toFixed(0);
  $('model-status').textContent = `${name}: ${size ? `${(size / 1e6).toFixed(1)} MB, ` : ''}${voices.length} voices, loaded in ${ms} ms. Runs on ${tts.backendName}.`;
  // The engine picks the backend per model: say which and why.
  // Without COOP/COEP from the host, the service worker adds them from the next load on.
  const reload = !crossOriginIsolated && navigator.serviceWorker?.controller === null ? 'reload for more threads: the service worker makes the page cross-origin isolated' : '';
  const why = [tts.backendReason, tts.threadsReason, reload].filter(Boolean).join('; ');
  $('active').textContent = why ? `${tts.backendName} — ${why}` : tts.backendName;
  document.body.dataset.model = 'loaded';
  delete document.body.dataset.error;
  setState('ready');
  showPhonemes();
}

// The server says which model it offers (scripts/dev.sh serves the real Kokoro-82M), with its
// SHA-256; offline, the service worker answers from its cache.
async function loadDefaultModel() {
  const index = await fetch('models/index.json').catch(() => null);
  const { default: url, sha256 } = index?.ok ? await index.json() : {};
  if (!url) {
    setState('ready');
    $('model-status').textContent = 'No default model here: load one by URL or file.';
    return;
  }
  $('model-url').value = url;
  await loadModel(url, 'Kokoro-82M (default model)', sha256);
  if (tts.voices.some((v) => v.id === 'jf_alpha')) $('voice').value = 'jf_alpha';
  showPhonemes();
}

// --- speaking ----------------------------------------------------------------------------------

function voiceExpression() {
  const [a, b] = [$('voice').value, $('voice2').value];
  if (!b || b === a) return a;
  const mix = Number($('mix').value);
  return `${a}(${(1 - mix).toFixed(1)})+${b}(${mix.toFixed(1)})`;
}

function options() {
  const mode = $('input-mode').value;
  return {
    voice: voiceExpression(),
    speed: Number($('speed').value),
    seed: Number($('seed').value),
    ssml: mode === 'ssml',
    phonemes: mode === 'phonemes',
    lang: $('lang').value || undefined,
  };
}

function speak() {
  player?.stop();
  setState('speaking');
  delete document.body.dataset.spoken;
  $('stop').disabled = false;
  $('download-wav').disabled = true;
  const status = $('speak-status');
  status.textContent = 'Speaking…';
  const words = $('words');
  words.replaceChildren();
  // Each word's span, by the word object play() hands back to onWord.
  const spanOf = new Map();
  const chunks = [];
  const t0 = performance.now();
  player = tts.play($('text').value, {
    ...options(),
    onChunk: (chunk) => {
      chunks.push(chunk);
      for (const w of chunk.words) {
        const span = document.createElement('span');
        span.textContent = w.text; // text, never HTML
        spanOf.set(w, span);
        // No space before punctuation.
        if (words.childNodes.length && !PUNCTUATION.test(w.text)) words.append(' ');
        words.append(span);
      }
      drawWaveform(chunks);
    },
    onWord: (word) => {
      words.querySelector('.current')?.classList.remove('current');
      spanOf.get(word)?.classList.add('current');
    },
  });
  const current = player;
  current.firstAudio.then((ms) => { current.ttfa = ms; });
  current.done.then(
    (audio) => {
      lastAudio = audio;
      words.querySelector('.current')?.classList.remove('current');
      $('download-wav').disabled = false;
      if (player === current) { setState('ready'); $('stop').disabled = true; }
    },
    (e) => { if (e.code !== 'cancelled') reportTo('speak-status')(e); else if (player === current) setState('ready'); },
  );
  // The synthesis is over when the last chunk has come, before playback ends.
  current.synthesized.then((audio) => {
    const ms = performance.now() - t0;
    const seconds = audio.duration;
    const rtf = ms / 1000 / seconds;
    status.textContent = `${seconds.toFixed(2)} s of audio in ${(ms / 1000).toFixed(2)} s — RTF ${rtf.toFixed(2)} on ${tts.backendName}`;
    $('metrics').textContent = `RTF ${rtf.toFixed(2)}, first audio after ${(current.ttfa ?? 0).toFixed(0)} ms, ${audio.words.length} words`;
    document.body.dataset.ttfa = String(Math.round(current.ttfa ?? 0));
    document.body.dataset.spoken = String(audio.samples.length);
    window.lastSpeech = { audio: audio.samples, sampleRate: audio.sampleRate, words: audio.words };
  }, () => {});
}

function drawWaveform(chunks) {
  const canvas = $('waveform');
  const g = canvas.getContext('2d');
  const total = chunks.reduce((n, c) => n + c.samples.length, 0);
  const width = canvas.width;
  const height = canvas.height;
  g.clearRect(0, 0, width, height);
  g.fillStyle = '#3b2f8f';
  // Scale to at least 10 s so the picture grows as the speech streams in.
  const perPixel = Math.max(total, 240000) / width;
  let x = 0;
  let peak = 0;
  let count = 0;
  for (const c of chunks) {
    for (let i = 0; i < c.samples.length; i++) {
      peak = Math.max(peak, Math.abs(c.samples[i]));
      if (++count >= perPixel) {
        const h = Math.min(1, peak) * height;
        g.fillRect(x, (height - h) / 2, 1, Math.max(1, h));
        x++; count = 0; peak = 0;
      }
    }
  }
}

function downloadWav() {
  if (!lastAudio) return;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(lastAudio.toBlob());
  a.download = 'tritone.wav';
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// What the model will be fed, live as the text changes.
async function showPhonemes() {
  await wasmReady;
  const mode = $('input-mode').value;
  const voice = $('voice').value || 'a';
  const chosen = $('lang').value;
  // A voice of another language (jf_alpha, …) reads English as en-US unless a language is chosen.
  const note = chosen || mode === 'phonemes' ? null : voiceNote(voice);
  $('voice-note').hidden = !note;
  $('voice-note').textContent = note ? `Note: ${note}.` : '';
  const lang = chosen || (voice.startsWith('b') ? 'en-gb' : 'en-us');
  try {
    $('phonemes-out').textContent = mode === 'phonemes' ? $('text').value : phonemize($('text').value, lang, mode === 'ssml').phonemes;
  } catch (e) {
    $('phonemes-out').textContent = `(${e.message ?? e})`;
  }
}

function wire() {
  const fromUrl = () => loadModel($('model-url').value, $('model-url').value).catch(reportTo('model-status'));
  $('load-url').onclick = fromUrl;
  $('model-file').onchange = async (e) => {
    const file = e.target.files[0];
    if (file) await loadModel(new Uint8Array(await file.arrayBuffer()), file.name).catch(reportTo('model-status'));
  };
  $('speak').onclick = () => { try { speak(); } catch (e) { reportTo('speak-status')(e); } };
  $('stop').onclick = () => { player?.stop(); $('stop').disabled = true; $('speak-status').textContent = 'Stopped.'; };
  $('download-wav').onclick = downloadWav;
  $('voice2').onchange = () => { $('mix-label').hidden = !$('voice2').value; };
  for (const id of ['text', 'input-mode', 'voice', 'lang']) $(id).addEventListener('input', showPhonemes);
  showPhonemes();
  // ?model=URL loads a model at once (links, tests); otherwise the server's default model.
  const url = new URLSearchParams(location.search).get('model');
  if (url) {
    $('model-url').value = url;
    fromUrl();
  } else {
    loadDefaultModel().catch(reportTo('model-status'));
  }
}

wire();
showBackends().catch((e) => {
  $('gpu').textContent = $('cpu').textContent = `error: ${e.message ?? e}`;
});
