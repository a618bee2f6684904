// Offline use. The app shell is precached at install and refreshed from the network whenever it
// is reachable (network first, so an updated app replaces the old files); models are not handled
// here: tritone-tts keeps each verified model in its own Cache Storage ('tritone-models-v1')
// and reads it from there before any download. The threaded build (pkg/worker-threads.js,
// pkg/threads/), which only cross-origin isolated pages load, is cached when first fetched.
//
// Cross-origin isolation on static hosts: every response this worker serves carries COOP/COEP
// (what scripts/dev.sh sends), so once it controls the page (the second visit, or a reload) the
// page is cross-origin isolated and the engine can run more than one CPU thread, on hosts that
// cannot set headers (GitHub Pages, a plain file server). Models from other origins still load
// where they send CORS headers, as they must for fetch() anyway.
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
const APP_CACHE = 'tritone-app-v1';
const MODEL_CACHE = 'tritone-models-v1';
const SHELL = [
  './', 'index.html', 'app.js', 'adapter.js', 'style.css', 'favicon.svg', 'icon-192.png', 'icon-512.png', 'manifest.webmanifest',
  'pkg/index.js', 'pkg/tritone-tts.js', 'pkg/worker.js', 'pkg/worker-core.js', 'pkg/session.js', 'pkg/model-source.js', 'pkg/errors.js',
  'pkg/audio.js', 'pkg/play.js', 'pkg/tritone.js', 'pkg/tritone_bg.wasm',
];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(APP_CACHE);
    await cache.addAll(SHELL);
    // Which model the site offers: only where the site has one (a static host may not).
    await cache.add('models/index.json').catch(() => {});
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  // Caches of older app versions go; the models stay.
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== APP_CACHE && n !== MODEL_CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  // Same-origin GETs of the app only; model files go straight to the network (the library caches them).
  if (event.request.method !== 'GET' || url.origin !== location.origin || url.pathname.endsWith('.gguf')) return;
  event.respondWith(networkFirst(event.request));
});

async function networkFirst(request) {
  const cache = await caches.open(APP_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return isolated(response);
  } catch (e) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return isolated(cached);
    throw e;
  }
}

// The response with the isolation headers added (opaque responses cannot be rewritten).
function isolated(response) {
  if (response.type === 'opaque' || response.type === 'opaqueredirect' || response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
