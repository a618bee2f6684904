// Streaming playback in browsers: each chunk becomes an AudioBuffer scheduled exactly where the
// previous one ends (sample-accurate, so the joins the engine faded stay seamless), and each
// word is announced when it starts sounding.
import { joinChunks } from './audio.js';

const contexts = new WeakMap();

export function play(tts, text, options = {}) {
  const { onWord, onChunk, context, signal, ...synthesis } = options;
  const stopper = new AbortController();
  signal?.addEventListener('abort', () => stopper.abort(), { once: true });
  let ctx = context ?? contexts.get(tts);
  if (!ctx) {
    ctx = new AudioContext({ sampleRate: tts.sampleRate });
    contexts.set(tts, ctx);
  }
  const sources = [];
  const timers = [];
  let resolveFirst;
  const firstAudio = new Promise((r) => { resolveFirst = r; });
  let resolveSynthesized;
  const synthesized = new Promise((r) => { resolveSynthesized = r; });
  const t0 = performance.now();

  const done = (async () => {
    // Browsers start an AudioContext suspended until a user gesture; play() is called from one.
    if (ctx.state === 'suspended') await ctx.resume();
    const chunks = [];
    let base = null; // the context time of the speech's first sample
    let end = ctx.currentTime;
    for await (const chunk of tts.stream(text, { ...synthesis, signal: stopper.signal })) {
      chunks.push(chunk);
      onChunk?.(chunk);
      if (chunk.samples.length === 0) continue;
      const now = ctx.currentTime;
      if (base === null) {
        base = now + 0.05;
        resolveFirst(performance.now() - t0);
      }
      // Synthesis fell behind playback: start this chunk a little later (a gap, not a glitch).
      if (base + chunk.start < now + 0.01) base = now + 0.01 - chunk.start;
      const buffer = ctx.createBuffer(1, chunk.samples.length, tts.sampleRate);
      buffer.copyToChannel(chunk.samples, 0);
      const source = ctx.createBufferSource();
      source.buffer = buffer;
      source.connect(ctx.destination);
      source.start(base + chunk.start);
      sources.push(source);
      end = base + chunk.start + buffer.duration;
      for (const word of chunk.words) {
        timers.push(setTimeout(() => onWord?.(word), Math.max(0, (base + word.start - ctx.currentTime) * 1000)));
      }
    }
    if (base === null) resolveFirst(performance.now() - t0);
    const audio = joinChunks(chunks, tts.sampleRate);
    resolveSynthesized(audio);
    await new Promise((r) => timers.push(setTimeout(r, Math.max(0, (end - ctx.currentTime) * 1000))));
    return audio;
  })();
  // A failed or stopped synthesis rejects `done`; `synthesized` then never resolves.
  done.catch(() => {});

  const stop = () => {
    stopper.abort();
    for (const s of sources) { try { s.stop(); } catch { /* not started yet */ } }
    for (const t of timers) clearTimeout(t);
  };
  return { stop, done, synthesized, firstAudio, context: ctx };
}
