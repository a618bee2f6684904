// The engine in this thread: the wasm module, one loaded model, and speech synthesized one piece
// at a time. The worker (worker.js) runs one of these; so does Node and `worker: false`.
import { TritoneError, cancelled } from './errors.js';

// Lets queued events (a cancel message, a click) run between pieces.
const yieldToEventLoop = () => new Promise((resolve) => setTimeout(resolve, 0));

export class Session {
  // `wasm` is the initialized wasm-bindgen module (tritone.js, or threads/tritone.js);
  // `threadsReason` says why it runs fewer CPU threads than asked for ('' if it does not).
  constructor(wasm, threadsReason = '') {
    this.wasm = wasm;
    this.threadsReason = threadsReason;
    this.tts = null;
  }

  async load(bytes, backend = 'auto', int8 = false) {
    try {
      const next = await this.wasm.Tts.create(bytes, backend, int8);
      this.tts?.free();
      this.tts = next;
    } catch (e) {
      throw TritoneError.from(e);
    }
    return this.info();
  }

  info() {
    const { tts } = this;
    return {
      voices: tts.voices(),
      backend: tts.backend,
      backendReason: tts.backendReason,
      simd128: this.wasm.simd128(),
      threads: this.wasm.cpuThreads(),
      threadsReason: this.threadsReason,
    };
  }

  // Yields `{ samples, phonemes, words, durations, times, piecesLeft }` chunk by chunk;
  // `isCancelled()` is asked before each piece.
  async *stream(input, options, isCancelled = () => false) {
    if (!this.tts) throw new TritoneError('no_model', 'no model is loaded');
    let stream;
    try {
      stream = this.tts.stream(input, options);
    } catch (e) {
      throw TritoneError.from(e);
    }
    try {
      for (;;) {
        if (isCancelled()) throw cancelled();
        let chunk;
        try {
          chunk = await stream.next();
        } catch (e) {
          throw TritoneError.from(e);
        }
        if (!chunk) return;
        const { audio, ...rest } = chunk;
        yield { samples: audio, ...rest };
        await yieldToEventLoop();
      }
    } finally {
      stream.free();
    }
  }

  dispose() {
    this.tts?.free();
    this.tts = null;
  }
}

// Fails in one place when the input is not text.
export function checkInput(input) {
  if (typeof input !== 'string') throw new TritoneError('bad_option', `the input must be a string, got ${typeof input}`);
}

// Options the engine reads; anything else is a mistake worth saying (a typo would be ignored).
const SYNTHESIS_OPTIONS = new Set(['voice', 'speed', 'seed', 'lang', 'ssml', 'phonemes', 'bySentence']);
export function checkOptions(options) {
  for (const key of Object.keys(options)) {
    if (!SYNTHESIS_OPTIONS.has(key)) {
      throw new TritoneError('bad_option', `unknown option "${key}": expected ${[...SYNTHESIS_OPTIONS, 'signal'].join(', ')}`);
    }
  }
}
