// tritone-tts: Kokoro-82M text-to-speech in the browser and in Node.

export type Backend = 'auto' | 'webgpu' | 'cpu';

export interface LoadProgress {
  /** 'download' | 'cache' | 'verify' | 'read' | 'load' */
  phase: string;
  loaded: number;
  /** 0 when the server did not say. */
  total: number;
}

export interface LoadOptions {
  backend?: Backend;
  /** CPU threads in a worker (default 'auto': one per core). More than one needs a cross-origin
   * isolated page (COOP/COEP headers) and loads the threaded build; otherwise one runs. */
  threads?: number | 'auto';
  /** CPU convolutions in int8 arithmetic (default false): about 2× faster on the CPU, about
   * 0.9 dB of log-mel from f32 (onnxruntime's int8 Kokoro: 1.4 dB). The GPU is unaffected. */
  int8?: boolean;
  /** Browsers: run the engine in a module Web Worker (default true). */
  worker?: boolean;
  /** Browsers: keep a downloaded model in Cache Storage (default true), verified by SHA-256. */
  cache?: boolean;
  /** The model's SHA-256 (hex): a download that does not match is refused and not cached. */
  sha256?: string;
  progress?: (progress: LoadProgress) => void;
}

export interface Voice {
  id: string;
  /** 'en-us', 'en-gb', 'ja', … by Kokoro's naming; text is phonemized as English for now. */
  language: string;
  gender: 'female' | 'male' | 'unknown';
}

export interface SynthesisOptions {
  /** A voice id or a blend such as 'af_bella(2)+af_sky(1)'; default: the model's first voice. */
  voice?: string;
  /** 1 is normal; 0.1–10 effective. */
  speed?: number;
  /** The vocoder noise seed: the same seed gives the same audio. Default 0. */
  seed?: number;
  /** 'en-us' | 'en-gb'; default: by the voice's first letter. */
  lang?: string;
  /** Read the input as SSML (<speak>, <break>, <prosody rate>, <phoneme>, <say-as>, <sub>). */
  ssml?: boolean;
  /** The input is phonemes in Kokoro's alphabet, not text. */
  phonemes?: boolean;
  /** Split at sentence ends (stream's default) rather than only where the model needs it (generate's default). */
  bySentence?: boolean;
  /** Stops the synthesis within one chunk; the promise or iterator rejects with code 'cancelled'. */
  signal?: AbortSignal;
}

export interface WordTime {
  text: string;
  /** Seconds from the start of the speech. */
  start: number;
  end: number;
}

export interface SpeechChunk {
  samples: Float32Array;
  sampleRate: number;
  /** The words spoken in this chunk ('' for a pause or the speech's held-back end). */
  text: string;
  phonemes: string;
  words: WordTime[];
  /** Where this chunk starts, in seconds from the start of the speech. */
  start: number;
  /** Frames per token (boundary tokens included). */
  durations: number[];
  /** Milliseconds the engine spent on this chunk, stage by stage. */
  stageMs: StageMs;
}

/** Milliseconds per stage of Kokoro: the text side (ALBERT, the prosody predictor, the text
 * encoder), the decoder, its generator (the vocoder's convolutions) and the inverse STFT. */
export interface StageMs {
  albert: number;
  predictor: number;
  textEncoder: number;
  decoder: number;
  generator: number;
  istft: number;
}

export declare class RawAudio {
  samples: Float32Array;
  sampleRate: number;
  words: WordTime[];
  phonemes: string;
  /** The chunks' stage times added up. */
  stageMs: StageMs;
  readonly duration: number;
  /** A 16-bit PCM WAV file. */
  toWav(): Uint8Array;
  toBlob(): Blob;
}

export interface PlayOptions extends SynthesisOptions {
  onWord?: (word: WordTime) => void;
  onChunk?: (chunk: SpeechChunk) => void;
  context?: AudioContext;
}

export interface PlayController {
  stop(): void;
  /** Resolves when the last chunk is synthesized (playback may go on), with all of the speech. */
  synthesized: Promise<RawAudio>;
  /** Resolves when the speech has played, with all of it; rejects with code 'cancelled' after stop(). */
  done: Promise<RawAudio>;
  /** Milliseconds from play() to the first audio being scheduled. */
  firstAudio: Promise<number>;
  context: AudioContext;
}

export declare class TritoneTTS {
  static load(source: string | URL | Uint8Array | ArrayBuffer, options?: LoadOptions): Promise<TritoneTTS>;
  readonly voices: Voice[];
  readonly backend: 'webgpu' | 'cpu';
  /** The backend in words, e.g. 'CPU (wasm simd128)'. */
  readonly backendName: string;
  /** Why this backend runs ('' when it is the one asked for and it works). `backend`,
   * `backendName` and `backendReason` change if the GPU fails mid-speech and the CPU takes over. */
  readonly backendReason: string;
  readonly worker: boolean;
  /** CPU threads the engine runs on (1 outside a worker or a cross-origin isolated page). */
  readonly threads: number;
  /** Why fewer threads than asked for run ('' when they do). */
  readonly threadsReason: string;
  readonly sampleRate: number;
  generate(text: string, options?: SynthesisOptions): Promise<RawAudio>;
  stream(text: string | AsyncIterable<string> | Iterable<string>, options?: SynthesisOptions): AsyncGenerator<SpeechChunk>;
  /** Browsers only. */
  play(text: string, options?: PlayOptions): PlayController;
  dispose(): void;
}

export declare class TritoneError extends Error {
  name: 'TritoneError';
  /** A stable code: 'unknown_voice', 'bad_option', 'bad_ssml', 'empty_input', 'bad_gguf', 'bad_download', 'network', 'cancelled', … */
  code: string;
}

export declare const SAMPLE_RATE: 24000;
export declare const MODEL_CACHE: string;
export declare function sha256Hex(bytes: Uint8Array): Promise<string>;
export declare function encodeWav(samples: Float32Array, sampleRate: number): Uint8Array;
