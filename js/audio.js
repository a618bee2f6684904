// Speech as the API returns it: mono float samples, the sample rate, and word timings.

export class RawAudio {
  constructor(samples, sampleRate, words = [], extra = {}) {
    this.samples = samples;
    this.sampleRate = sampleRate;
    this.words = words;
    Object.assign(this, extra);
  }

  get duration() {
    return this.samples.length / this.sampleRate;
  }

  // A 16-bit PCM WAV file.
  toWav() {
    return encodeWav(this.samples, this.sampleRate);
  }

  toBlob() {
    return new Blob([this.toWav()], { type: 'audio/wav' });
  }
}

export function encodeWav(samples, sampleRate) {
  const bytes = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(bytes.buffer);
  const text = (at, s) => { for (let i = 0; i < s.length; i++) bytes[at + i] = s.charCodeAt(i); };
  text(0, 'RIFF'); view.setUint32(4, 36 + samples.length * 2, true); text(8, 'WAVE');
  text(12, 'fmt '); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true); view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  text(36, 'data'); view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    // The same conversion as the CLI's WAV writer: clamp, scale by 32767, round.
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, Math.round(s * 32767), true);
  }
  return bytes;
}

// Kokoro's stages, as `stageMs` names them.
const STAGES = ['albert', 'predictor', 'textEncoder', 'decoder', 'generator', 'istft'];

// The engine's milliseconds per stage of one synthesis (its `times`), in the API's names.
export function stageMs(times) {
  return Object.fromEntries(STAGES.map((name) => [name, times[name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]]));
}

// Chunks joined into one RawAudio (the chunks' samples concatenated are the whole speech; the
// stage times add up).
export function joinChunks(chunks, sampleRate) {
  const length = chunks.reduce((n, c) => n + c.samples.length, 0);
  const samples = new Float32Array(length);
  let at = 0;
  for (const c of chunks) { samples.set(c.samples, at); at += c.samples.length; }
  return new RawAudio(samples, sampleRate, chunks.flatMap((c) => c.words), {
    phonemes: chunks.map((c) => c.phonemes).filter(Boolean).join(' '),
    stageMs: Object.fromEntries(STAGES.map((name) => [name, chunks.reduce((sum, c) => sum + c.stageMs[name], 0)])),
  });
}
