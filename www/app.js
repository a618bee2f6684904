// Demo page: load the wasm package, show the backends, speak with a GGUF model. The backends'
// conformance suite runs on diagnostics.html, not here: it takes a while and speech needs none of it.
import init, { Runtime, Tts, phonemize, voiceNote } from './pkg/tritone.js';
import { describeAdapter } from './adapter.js';

const $ = (id) => document.getElementById(id);

const wasmReady = init();

async function main() {
  await wasmReady;
  const runtime = await Runtime.create();
  const backends = runtime.backends();
  const adapter = await describeAdapter();
  $('gpu').textContent = backends.gpu
    ? `${adapter ?? backends.gpu.name} (WebGPU)`
    : `none — ${backends.gpuError}`;
  $('cpu').textContent = backends.simd128 ? 'CPU SIMD (wasm simd128)' : backends.cpu;
}

// --- speech -----------------------------------------------------------------------------------
let tts = null;
let audioContext = null;

// Fetches with a progress bar: models are tens of megabytes.
async function download(url) {
  const bar = $('download');
  bar.hidden = false;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const total = Number(response.headers.get('content-length')) || 0;
  const reader = response.body.getReader();
  const parts = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    received += value.length;
    bar.value = total ? received / total : 0;
    $('model-status').textContent = `Downloading… ${(received / 1e6).toFixed(1)}${total ? ` / ${(total / 1e6).toFixed(1)}` : ''} MB`;
  }
  bar.value = 1;
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const p of parts) { bytes.set(p, offset); offset += p.length; }
  return bytes;
}

async function loadModel(bytes, name) {
  // A small model can arrive before the wasm module has instantiated.
  await wasmReady;
  const t0 = performance.now();
  const next = Tts.load(bytes);
  // Release the previous model's heap now (a speech in progress keeps its own reference).
  tts?.free();
  tts = next;
  const voices = tts.voices();
  $('voice').replaceChildren(...voices.map((v) => new Option(v, v)));
  $('voice').disabled = $('speak').disabled = voices.length === 0;
  $('model-status').textContent = `${name}: ${(bytes.length / 1e6).toFixed(1)} MB, ${voices.length} voices, loaded in ${(performance.now() - t0).toFixed(0)} ms. Runs on ${tts.backend}.`;
  // The engine picks the backend per model: say which and why.
  $('active').textContent = tts.backendReason ? `${tts.backend} — ${tts.backendReason}` : tts.backend;
  document.body.dataset.model = 'loaded';
  showPhonemes();
}

async function speak() {
  const status = $('speak-status');
  status.textContent = 'Speaking…';
  const t0 = performance.now();
  const mode = $('input-mode').value;
  const [input, voice, speed, seed] = [$('text').value, $('voice').value, Number($('speed').value), Number($('seed').value)];
  const speech = mode === 'phonemes'
    ? await tts.speak(input, voice, speed, seed)
    : await tts.speakText(input, voice, speed, seed, mode === 'ssml', $('lang').value || undefined);
  const ms = performance.now() - t0;
  const seconds = speech.audio.length / speech.sampleRate;
  status.textContent = `${seconds.toFixed(2)} s of audio in ${(ms / 1000).toFixed(2)} s — RTF ${(ms / 1000 / seconds).toFixed(2)} on ${tts.backend}`;
  document.body.dataset.spoken = String(speech.audio.length);
  window.lastSpeech = speech; // for tests and the console
  audioContext ??= new AudioContext({ sampleRate: speech.sampleRate });
  const buffer = audioContext.createBuffer(1, speech.audio.length, speech.sampleRate);
  buffer.copyToChannel(speech.audio, 0);
  const source = audioContext.createBufferSource();
  source.buffer = buffer;
  source.connect(audioContext.destination);
  source.start();
}

function reportTo(id) {
  return (e) => {
    $(id).textContent = `Error: ${e.message ?? e}`;
    document.body.dataset.error = String(e.message ?? e);
    // TritoneErrors carry a stable code (tests and scripts match it, not the wording).
    if (e.code) document.body.dataset.errorCode = e.code;
  };
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

function wireSpeech() {
  $('load-url').onclick = () => download($('model-url').value).then((b) => loadModel(b, $('model-url').value)).catch(reportTo('model-status'));
  $('model-file').onchange = async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    try {
      await loadModel(new Uint8Array(await file.arrayBuffer()), file.name);
    } catch (err) {
      reportTo('model-status')(err);
    }
  };
  $('speak').onclick = () => speak().catch(reportTo('speak-status'));
  for (const id of ['text', 'input-mode', 'voice', 'lang']) $(id).addEventListener('input', showPhonemes);
  showPhonemes();
  // ?model=URL loads a model at once (links, tests); otherwise the server's default model, if it
  // has one (scripts/dev.sh serves the real Kokoro-82M at models/kokoro.gguf).
  const url = new URLSearchParams(location.search).get('model');
  if (url) {
    $('model-url').value = url;
    download(url).then((b) => loadModel(b, url)).catch(reportTo('model-status'));
  } else {
    loadDefaultModel().catch(reportTo('model-status'));
  }
}

// The server says which model it offers: scripts/dev.sh serves the real Kokoro-82M.
async function loadDefaultModel() {
  const index = await fetch('models/index.json');
  const { default: url } = index.ok ? await index.json() : {};
  if (!url) return; // no model here: load one by URL or file
  $('model-url').value = url;
  await loadModel(await download(url), 'Kokoro-82M (default model)');
  $('voice').value = tts.voices().includes('jf_alpha') ? 'jf_alpha' : $('voice').value;
  showPhonemes();
}

wireSpeech();

main().catch((e) => {
  $('gpu').textContent = $('cpu').textContent = `error: ${e.message ?? e}`;
  console.error(e);
});
