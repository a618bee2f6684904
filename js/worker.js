// The engine's worker on the plain build (one CPU thread). See worker-core.js.
import init, * as wasm from './tritone.js';
import { serveEngine } from './worker-core.js';

serveEngine(async ({ wasmUrl }) => {
  await init({ module_or_path: wasmUrl });
  return wasm;
});
