// A model's bytes from a URL (with progress, kept in Cache Storage and verified by SHA-256),
// from bytes, or (Node) from a path. Nothing is cached until the engine has loaded it: a file
// that is truncated, corrupted or not a model never reaches the cache.
import { TritoneError } from './errors.js';

export const MODEL_CACHE = 'tritone-models-v1';
const HASH_HEADER = 'x-tritone-sha256';

export async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

// Resolves to `{ bytes, commit }`: `commit()` caches a download once the engine accepted it.
// `options`: `{ sha256, cache, progress({ phase, loaded, total }), readFile(path) }`.
export async function modelBytes(source, { sha256, cache = true, progress = () => {}, readFile } = {}) {
  const none = { commit: async () => {} };
  if (source instanceof Uint8Array) return { bytes: source, ...none };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), ...none };
  if (ArrayBuffer.isView(source)) return { bytes: new Uint8Array(source.buffer, source.byteOffset, source.byteLength), ...none };
  if (typeof source !== 'string' && !(source instanceof URL)) {
    throw new TritoneError('bad_option', 'the model must be a URL, a path, or the bytes of a GGUF file');
  }
  const text = String(source);
  if (readFile && !/^(https?|data|blob):/i.test(text)) {
    progress({ phase: 'read', loaded: 0, total: 0 });
    try {
      const bytes = await readFile(text);
      return { bytes, ...none };
    } catch (e) {
      throw new TritoneError('io', `${text}: ${e.message}`);
    }
  }
  const url = new URL(text, globalThis.location?.href).href;
  const wanted = sha256?.toLowerCase();
  const store = cache && globalThis.caches ? await caches.open(MODEL_CACHE) : null;
  if (store) {
    const hit = await store.match(url);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      progress({ phase: 'cache', loaded: bytes.length, total: bytes.length });
      const stored = hit.headers.get(HASH_HEADER);
      // The cached copy must still be what was verified, and the model asked for now.
      if (stored && (!wanted || stored === wanted) && (await sha256Hex(bytes)) === stored) return { bytes, ...none };
      await store.delete(url);
    }
  }
  const bytes = await download(url, progress);
  progress({ phase: 'verify', loaded: bytes.length, total: bytes.length });
  const hash = await sha256Hex(bytes);
  if (wanted && hash !== wanted) {
    throw new TritoneError('bad_download', `${url}: SHA-256 ${hash} does not match the expected ${wanted} (a corrupted or different file); not cached`);
  }
  const commit = async () => {
    if (!store) return;
    // Only one version of a model URL is kept: the new one replaces the old.
    await store.put(url, new Response(bytes, { headers: { 'content-type': 'application/octet-stream', [HASH_HEADER]: hash } }));
  };
  return { bytes, commit };
}

async function download(url, progress) {
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new TritoneError('network', `${url}: ${e.message} (offline, or the server is unreachable)`);
  }
  if (!response.ok) throw new TritoneError('bad_download', `${url}: HTTP ${response.status} ${response.statusText}`.trim());
  // A compressed transfer's length is not the file's: only trust it when the body is identity.
  const encoded = response.headers.get('content-encoding');
  const total = encoded && encoded !== 'identity' ? 0 : Number(response.headers.get('content-length')) || 0;
  const parts = [];
  let loaded = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      loaded += value.length;
      progress({ phase: 'download', loaded, total });
    }
  } catch (e) {
    throw new TritoneError('bad_download', `${url}: the download broke off after ${loaded} bytes: ${e.message}`);
  }
  if (total && loaded !== total) {
    throw new TritoneError('bad_download', `${url}: truncated download: ${loaded} of ${total} bytes; not cached`);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.length; }
  return bytes;
}
