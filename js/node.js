// tritone-tts for Node ≥ 18: the engine in this thread; models from a path, a URL or bytes.
import { readFile } from 'node:fs/promises';
import init, * as wasm from './tritone.js';
import { TritoneTTS as Base } from './tritone-tts.js';

export { TritoneError } from './errors.js';
export { RawAudio, encodeWav } from './audio.js';
export { SAMPLE_RATE } from './tritone-tts.js';
export { MODEL_CACHE, sha256Hex } from './model-source.js';

let ready = null;
const platform = {
  createWorker: null,
  initWasm: async () => {
    ready ??= readFile(new URL('./tritone_bg.wasm', import.meta.url)).then((bytes) => init({ module_or_path: bytes }));
    await ready;
    return wasm;
  },
  readFile: async (path) => new Uint8Array(await readFile(path)),
  play: null,
};

export class TritoneTTS extends Base {
  // `source`: a file path, a URL, or the bytes of a GGUF model. `options`: `{ backend, sha256,
  // progress }` (no worker and no cache in Node).
  static load(source, options = {}) {
    return Base.create(source, { ...options, worker: false, cache: false }, platform);
  }
}
