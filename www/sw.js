// Offline use. The app shell is precached at install and refreshed from the network whenever it
// is reachable (network first, so an updated app replaces the old files); models are not handled
// here: tritone-tts keeps each verified model in its own Cache Storage ('tritone-models-v1')
// and reads it from there before any download. The threaded build (pkg/worker-threads.js,
// pkg/threads/), which only cross-origin isolated pages load, is cached when first fetched.
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
    return response;
  } catch (e) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw e;
  }
}
