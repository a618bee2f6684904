// wasm-pack names the npm package after the crate and exports only the raw wasm-bindgen module;
// the published package is `tritone-tts`, whose entry points are the API in js/ (copied next to
// the module by build-wasm.sh): index.js for browsers and bundlers, node.js for Node.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../pkg/package.json', import.meta.url);
const pkg = JSON.parse(readFileSync(path, 'utf8'));
const api = readdirSync(new URL('../js/', import.meta.url));
pkg.name = 'tritone-tts';
pkg.keywords = ['tts', 'text-to-speech', 'kokoro', 'webgpu', 'wasm'];
pkg.type = 'module';
// threads/: the threaded build, loaded instead on cross-origin isolated pages.
pkg.files = [...new Set([...pkg.files, ...api, 'threads'])].sort();
pkg.main = './node.js';
pkg.module = './index.js';
pkg.browser = './index.js';
pkg.types = './index.d.ts';
pkg.exports = {
  '.': { types: './index.d.ts', node: './node.js', browser: './index.js', default: './index.js' },
  // The raw wasm-bindgen module (Tts, Runtime, phonemize, inspectGguf, …) for the diagnostics page and tools.
  './wasm': { types: './tritone.d.ts', default: './tritone.js' },
  './package.json': './package.json',
};
pkg.engines = { node: '>=18' };
pkg.sideEffects = false;
writeFileSync(path, JSON.stringify(pkg, null, 2) + '\n');
