// Static file server for www/ on 127.0.0.1 (wasm needs the application/wasm type).
// Usage: node scripts/serve.mjs [port]   (port 0 picks a free one). Importable by tests.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm',
  '.png': 'image/png', '.svg': 'image/svg+xml', '.ts': 'text/plain', '.webmanifest': 'application/manifest+json',
};

const hashes = new Map();
function fileSha256(path) {
  if (!hashes.has(path)) {
    hashes.set(path, new Promise((ok, fail) => {
      const hash = createHash('sha256');
      createReadStream(path).on('data', (d) => hash.update(d)).on('end', () => ok(hash.digest('hex'))).on('error', fail);
    }));
  }
  return hashes.get(path);
}

// `mounts` maps URL paths to files outside root, e.g. { '/models/kokoro.gguf': 'target/real/kokoro-f16.gguf' }.
// `isolated` sends COOP/COEP, which make the page cross-origin isolated (SharedArrayBuffer, threads).
export function serve(root, port = 0, mounts = {}, { isolated = false } = {}) {
  const isolation = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const pathname = decodeURIComponent(url.pathname);
    if (pathname === '/models/index.json' && !mounts[pathname]) {
      // Which model the page loads by itself (the first mounted one, if any) and its SHA-256,
      // which the page checks the download against before caching it.
      const model = Object.keys(mounts).find((p) => p.startsWith('/models/'));
      const sha256 = model ? await fileSha256(mounts[model]) : null;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ default: model ? model.slice(1) : null, sha256 }));
      return;
    }
    let path = mounts[pathname] ? resolve(mounts[pathname]) : normalize(join(base, pathname));
    if (!mounts[pathname] && !path.startsWith(base)) { res.writeHead(403).end(); return; }
    try {
      if ((await stat(path)).isDirectory()) path = join(path, 'index.html');
      const body = await readFile(path);
      res.writeHead(200, {
        'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
        'content-length': body.length,
        'cache-control': 'no-store',
        // Local development only: lets a page on another port fetch models from here.
        'access-control-allow-origin': '*',
        ...isolation,
      });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => ok(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../www', import.meta.url));
  // The real model from scripts/real-model.sh, when it is there, as the page's default model.
  const model = fileURLToPath(new URL('../target/real/kokoro-f16.gguf', import.meta.url));
  const mounts = (await stat(model).catch(() => null)) ? { '/models/kokoro.gguf': model } : {};
  // Cross-origin isolated, so the demo's engine runs its threaded build on every core.
  const server = await serve(root, Number(process.argv[2] ?? 8080), mounts, { isolated: true });
  console.log(`tritone demo: http://127.0.0.1:${server.address().port}/`);
  console.log(mounts['/models/kokoro.gguf'] ? `default model: ${model}` : 'no default model (run scripts/real-model.sh)');
}
