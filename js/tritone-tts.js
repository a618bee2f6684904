// The `tritone-tts` API, the same in browsers and Node: a model loaded once, then `generate`
// (whole speech), `stream` (sentence by sentence) and, in browsers, `play`. The engine runs
// in a module Web Worker (browsers, the default) or in this thread (Node, `worker: false`).
import { TritoneError, cancelled } from './errors.js';
import { RawAudio, joinChunks, stageMs } from './audio.js';
import { Session, checkInput, checkOptions } from './session.js';
import { modelBytes } from './model-source.js';

export const SAMPLE_RATE = 24000;
const LOAD_OPTIONS = ['backend', 'threads', 'int8', 'worker', 'cache', 'sha256', 'progress'];

// Kokoro's voice names: language by the first letter, gender by the second.
const LANGUAGES = { a: 'en-us', b: 'en-gb', e: 'es', f: 'fr', h: 'hi', i: 'it', j: 'ja', p: 'pt-br', z: 'zh' };
const GENDERS = { f: 'female', m: 'male' };

function describeVoice(id) {
  return { id, language: LANGUAGES[id[0]] ?? 'unknown', gender: GENDERS[id[1]] ?? 'unknown' };
}

// --- transports: where the engine runs --------------------------------------------------------

// A queue that an async iterator drains.
class Channel {
  constructor() { this.items = []; this.waiting = null; }
  push(item) {
    if (this.waiting) { this.waiting(item); this.waiting = null; } else this.items.push(item);
  }
  take() {
    return this.items.length ? Promise.resolve(this.items.shift()) : new Promise((r) => { this.waiting = r; });
  }
}

class WorkerTransport {
  constructor(worker) {
    this.worker = worker;
    this.nextId = 1;
    this.channels = new Map();
    worker.onmessage = ({ data }) => this.channels.get(data.id)?.push(data);
    worker.onerror = (e) => {
      // A worker that fails to start (a missing file, a CSP) fails every request, with the reason.
      e.preventDefault?.();
      const error = { code: 'worker', message: `the engine's worker failed: ${e.message ?? 'could not start'}` };
      for (const channel of this.channels.values()) channel.push({ type: 'error', error });
    };
  }

  open(op, payload) {
    const id = this.nextId++;
    const channel = new Channel();
    this.channels.set(id, channel);
    this.worker.postMessage({ id, op, ...payload });
    return { id, channel };
  }

  async request(op, payload = {}, onProgress = () => {}) {
    const { id, channel } = this.open(op, payload);
    try {
      for (;;) {
        const m = await channel.take();
        if (m.type === 'progress') onProgress(m.progress);
        else if (m.type === 'result') return m.value;
        else if (m.type === 'error') throw new TritoneError(m.error.code, m.error.message);
      }
    } finally {
      this.channels.delete(id);
    }
  }

  async *stream(input, options, signal) {
    const { id, channel } = this.open('stream', { input, options });
    const abort = () => {
      this.worker.postMessage({ id: 0, op: 'cancel', target: id });
      channel.push({ type: 'error', error: { code: 'cancelled', message: 'cancelled' } });
    };
    signal?.addEventListener('abort', abort, { once: true });
    let finished = false;
    try {
      for (;;) {
        const m = await channel.take();
        if (m.type === 'chunk') yield m.chunk;
        else if (m.type === 'done') { finished = true; return; }
        else if (m.type === 'error') { finished = true; throw new TritoneError(m.error.code, m.error.message); }
      }
    } finally {
      signal?.removeEventListener('abort', abort);
      // The consumer stopped early (break): stop the synthesis too.
      if (!finished) this.worker.postMessage({ id: 0, op: 'cancel', target: id });
      this.channels.delete(id);
    }
  }

  dispose() {
    this.worker.postMessage({ id: 0, op: 'dispose' });
    this.worker.terminate();
  }
}

class LocalTransport {
  constructor(session, readFile) {
    this.session = session;
    this.readFile = readFile;
  }

  async request(op, payload, onProgress = () => {}) {
    if (op !== 'load') throw new TritoneError('bad_option', `unknown request ${op}`);
    const model = await modelBytes(payload.source, { ...payload.options, progress: onProgress, readFile: this.readFile });
    onProgress({ phase: 'load', loaded: model.bytes.length, total: model.bytes.length });
    const info = await this.session.load(model.bytes, payload.options.backend, payload.options.int8);
    await model.commit();
    return info;
  }

  async *stream(input, options, signal) {
    yield* this.session.stream(input, options, () => signal?.aborted);
  }

  dispose() {
    this.session.dispose();
  }
}

// --- the API -----------------------------------------------------------------------------------

// CPU threads for the `threads` load option ('auto': one per core), and why fewer, if fewer.
// More than one share the wasm memory: only in a worker, and only where the page is cross-origin
// isolated (COOP/COEP headers), which is what lets a page share memory between threads.
function threadCount(asked, inWorker) {
  const wanted = asked === 'auto' ? (globalThis.navigator?.hardwareConcurrency || 1) : asked;
  if (wanted === 1) return { threads: 1, reason: '' };
  if (!inWorker) return { threads: 1, reason: asked === 'auto' ? '' : 'one CPU thread: more run only in a worker' };
  if (!globalThis.crossOriginIsolated) return { threads: 1, reason: 'one CPU thread: the page is not cross-origin isolated (it needs the COOP/COEP headers)' };
  return { threads: wanted, reason: '' };
}

// A worker on the build for `cpu.threads`, initialized; disposed if it does not start.
async function startWorker(platform, cpu) {
  const transport = new WorkerTransport(platform.createWorker(cpu.threads > 1));
  try {
    await transport.request('init', { wasmUrl: platform.wasmUrl, threads: cpu.threads, threadsReason: cpu.reason });
    return transport;
  } catch (e) {
    transport.dispose();
    throw e;
  }
}

// Cut streamed text into whole sentences as it arrives; the rest waits for more.
const SENTENCE_END = /[.!?…]+["'”’)\]]*\s+/g;

export class TritoneTTS {
  // `platform` comes from the entry point (index.js for browsers, node.js for Node).
  constructor(transport, info, platform) {
    this.transport = transport;
    this.platform = platform;
    this.voices = info.voices.map(describeVoice);
    this.setBackend(info.backend, info.backendReason);
    this.simd128 = info.simd128;
    this.threads = info.threads;
    this.threadsReason = info.threadsReason;
    this.worker = transport instanceof WorkerTransport;
    this.sampleRate = SAMPLE_RATE;
    this.queue = Promise.resolve();
  }

  static async create(source, options, platform) {
    for (const key of Object.keys(options)) {
      if (!LOAD_OPTIONS.includes(key)) throw new TritoneError('bad_option', `unknown load option "${key}": expected ${LOAD_OPTIONS.join(', ')}`);
    }
    const { backend = 'auto', threads = 'auto', int8 = false, progress, cache = true, sha256 } = options;
    if (!['auto', 'webgpu', 'cpu'].includes(backend)) {
      throw new TritoneError('bad_option', `backend: "${backend}": expected "auto", "webgpu" or "cpu"`);
    }
    if (typeof int8 !== 'boolean') throw new TritoneError('bad_option', `int8: ${JSON.stringify(int8)}: expected true or false`);
    if (threads !== 'auto' && !(Number.isInteger(threads) && threads >= 1 && threads <= 256)) {
      throw new TritoneError('bad_option', `threads: ${JSON.stringify(threads)}: expected "auto" or a whole number from 1 to 256`);
    }
    // A relative URL is the page's, not the worker's: resolve it here. (URL objects do not
    // cross to a worker; strings do.)
    if (source instanceof URL) source = source.href;
    if (typeof source === 'string' && globalThis.document) source = new URL(source, document.baseURI).href;
    const useWorker = (options.worker ?? true) && platform.createWorker;
    let transport;
    if (useWorker) {
      const cpu = threadCount(threads, true);
      transport = await startWorker(platform, cpu).catch((e) => {
        // A threaded build that cannot start (shared memory refused, say) leaves the plain one.
        if (cpu.threads === 1) throw e;
        return startWorker(platform, { threads: 1, reason: `one CPU thread: the threaded build did not start (${e?.message ?? e})` });
      }).catch((e) => { throw TritoneError.from(e); });
    } else {
      transport = new LocalTransport(new Session(await platform.initWasm(), threadCount(threads, false).reason), platform.readFile);
    }
    try {
      const info = await transport.request('load', { source, options: { backend, int8, cache, sha256 } }, progress);
      return new TritoneTTS(transport, info, platform);
    } catch (e) {
      transport.dispose();
      throw TritoneError.from(e);
    }
  }

  // The whole speech at once (pieces as long as the model takes).
  async generate(text, options = {}) {
    const chunks = [];
    for await (const chunk of this.stream(text, { bySentence: false, ...options })) chunks.push(chunk);
    return joinChunks(chunks, SAMPLE_RATE);
  }

  // Sentence by sentence: each chunk `{ samples, sampleRate, text, phonemes, words, start }`
  // (times in seconds from the start of the speech); the chunks' samples concatenated are the
  // whole speech. `input` is a string or an async iterable of text (e.g. an LLM's tokens).
  async *stream(input, options = {}) {
    const { signal, ...rest } = options;
    checkOptions(rest);
    if (signal?.aborted) throw cancelled();
    let offset = 0;
    const iterable = input != null && typeof input === 'object' && (Symbol.asyncIterator in input || Symbol.iterator in input);
    if (typeof input !== 'string' && !iterable) {
      throw new TritoneError('bad_option', `the input must be a string or an (async) iterable of strings, got ${typeof input}`);
    }
    for await (const text of typeof input === 'string' ? [input] : sentences(input)) {
      checkInput(text);
      // The engine times words from the start of this text.
      const textStart = offset;
      const turn = await this.acquire();
      try {
        for await (const chunk of this.transport.stream(text, { voice: this.voices[0]?.id, ...rest }, signal)) {
          // A GPU that fails mid-speech hands over to the CPU: say so from then on.
          if (chunk.backend && chunk.backend !== this.backendName) this.setBackend(chunk.backend, chunk.backendReason);
          const start = offset;
          offset += chunk.samples.length / SAMPLE_RATE;
          yield {
            samples: chunk.samples,
            sampleRate: SAMPLE_RATE,
            text: joinWords(chunk.words),
            phonemes: chunk.phonemes,
            words: chunk.words.map((w) => ({ text: w.text, start: w.start + textStart, end: w.end + textStart })),
            start,
            durations: chunk.durations,
            stageMs: stageMs(chunk.times),
          };
        }
      } finally {
        turn.release();
      }
      if (signal?.aborted) throw cancelled();
    }
  }

  setBackend(name, reason) {
    this.backendName = name;
    this.backend = /^CPU/.test(name) ? 'cpu' : 'webgpu';
    this.backendReason = reason;
  }

  // One synthesis at a time, in call order: resolves when it is this caller's turn.
  acquire() {
    let release;
    const done = new Promise((r) => { release = r; });
    const turn = this.queue.then(() => ({ release }));
    this.queue = done;
    return turn;
  }

  // Browsers: speaks `text` through Web Audio as it is synthesized. Returns a controller:
  // `{ stop(), done: Promise<RawAudio>, firstAudio: Promise<ms> }`; `options.onWord(word)` is
  // called when each word starts sounding, `options.onChunk(chunk)` as chunks arrive.
  play(text, options = {}) {
    if (!this.platform.play) throw new TritoneError('unsupported', 'play() needs Web Audio (a browser); use generate() or stream()');
    return this.platform.play(this, text, options);
  }

  dispose() {
    this.transport.dispose();
  }
}

// Words as text: spaces between words, none before punctuation.
function joinWords(words) {
  return words.reduce((text, w) => (text && !/^[\p{P}\p{S}]+$/u.test(w.text) ? `${text} ${w.text}` : text + w.text), '');
}

// Whole sentences from an async iterable of text pieces.
async function* sentences(pieces) {
  let buffer = '';
  for await (const piece of pieces) {
    checkInput(piece);
    buffer += piece;
    let cut = 0;
    for (const m of buffer.matchAll(SENTENCE_END)) cut = m.index + m[0].length;
    if (cut > 0) {
      yield buffer.slice(0, cut);
      buffer = buffer.slice(cut);
    }
  }
  if (buffer.trim()) yield buffer;
}
