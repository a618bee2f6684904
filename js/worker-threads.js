// The engine's worker on the threaded build: its CPU kernels on a pool of `threads` workers
// that share its memory (the page is cross-origin isolated). See worker-core.js.
import init, * as wasm from './threads/tritone.js';
import { serveEngine } from './worker-core.js';

serveEngine(async ({ threads }) => {
  await init();
  await wasm.initThreadPool(threads);
  return wasm;
});
