// wasm-pack names the npm package after the crate; the published package is `tritone-tts`.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../pkg/package.json', import.meta.url);
const pkg = JSON.parse(readFileSync(path, 'utf8'));
pkg.name = 'tritone-tts';
pkg.keywords = ['tts', 'text-to-speech', 'kokoro', 'webgpu', 'wasm'];
writeFileSync(path, JSON.stringify(pkg, null, 2) + '\n');
