// tritone-tts for browsers: the engine in a module Web Worker by default.
import init, * as wasm from './tritone.js';
import { TritoneTTS as Base } from './tritone-tts.js';
import { play } from './play.js';

export { TritoneError } from './errors.js';
export { RawAudio, encodeWav } from './audio.js';
export { SAMPLE_RATE } from './tritone-tts.js';
export { MODEL_CACHE, sha256Hex } from './model-source.js';

const platform = {
  // Bundlers (Vite, webpack) see these URLs and emit the files next to the bundle. `threaded`:
  // the worker on the threaded build (worker-threads.js), else on the plain one.
  createWorker: typeof Worker === 'undefined' ? null : (threaded) => (threaded
    ? new Worker(new URL('./worker-threads.js', import.meta.url), { type: 'module' })
    : new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })),
  wasmUrl: new URL('./tritone_bg.wasm', import.meta.url).href,
  initWasm: async () => { await init({ module_or_path: platform.wasmUrl }); return wasm; },
  play,
};

export class TritoneTTS extends Base {
  // `source`: a URL or the bytes of a GGUF model (tritone's, TTS.cpp's, or converted from
  // kokoro-onnx). `options`: `{ backend: 'auto'|'webgpu'|'cpu', threads: 'auto'|N, worker: true,
  // cache: true, sha256, progress({ phase, loaded, total }) }`.
  static load(source, options = {}) {
    return Base.create(source, options, platform);
  }
}
