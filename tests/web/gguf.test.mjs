// The GGUF reader in the browser: gguf-py's fixture handed over as an ArrayBuffer, parsed by the
// wasm package, compared with what gguf-py read (tests/fixtures/gguf/all_types.json), values
// bit for bit; a header-only parse of a download's prefix; malformed bytes rejected.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openDemoPage, root } from './harness.mjs';

const fixtures = `${root}tests/fixtures/gguf/`;
let site, page;

before(async () => {
  site = await openDemoPage();
  page = site.page;
  // A page of the site without the demo's CSP: inPage evaluates test code from strings.
  await page.goto(new URL('favicon.svg', page.url()).href);
});

after(async () => {
  await site?.close();
});

// Runs `body(mod, bytes)` in the page with the fixture's bytes as a Uint8Array over an ArrayBuffer.
function inPage(bytes, body) {
  return page.evaluate(async ({ bytes, body }) => {
    const mod = await import('./pkg/tritone.js');
    await mod.default();
    const buffer = new Uint8Array(bytes).buffer; // an ArrayBuffer, as fetch() gives
    return new Function('mod', 'buffer', `return (${body})(mod, buffer);`)(mod, buffer);
  }, { bytes: Array.from(bytes), body: body.toString() });
}

const bits = (f32) => Array.from(new Uint32Array(f32.buffer, f32.byteOffset, f32.length));

test('all_types.gguf parses in the browser exactly as gguf-py reads it', async () => {
  const bytes = readFileSync(`${fixtures}all_types.gguf`);
  const expected = JSON.parse(readFileSync(`${fixtures}all_types.json`, 'utf8'));
  const got = await inPage(bytes, (mod, buffer) => {
    const bytes = new Uint8Array(buffer);
    const summary = mod.inspectGguf(bytes, false);
    const values = Object.fromEntries(summary.tensors.map((t) => [t.name, Array.from(new Uint32Array(mod.ggufTensorF32(bytes, t.name).buffer))]));
    // BigInts do not cross page.evaluate: stringify them.
    return JSON.parse(JSON.stringify({ summary, values }, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
  });
  assert.equal(got.summary.version, expected.version);
  assert.equal(got.summary.alignment, expected.alignment);
  assert.equal(got.summary.dataOffset, expected.data_offset);
  assert.deepEqual(got.summary.metadata.map(([k]) => k), expected.metadata.map((m) => m.key));
  const meta = Object.fromEntries(got.summary.metadata);
  assert.equal(meta['general.architecture'], 'tritone-test');
  assert.equal(meta['test.uint64_max'], '18446744073709551615');
  assert.equal(meta['test.string_utf8'], expected.metadata.find((m) => m.key === 'test.string_utf8').value);
  assert.equal(got.summary.tensors.length, expected.tensors.length);
  for (const [i, t] of got.summary.tensors.entries()) {
    const e = expected.tensors[i];
    assert.deepEqual([t.name, t.type, t.ne, t.offset, t.bytes], [e.name, e.type, e.ne, e.offset, e.n_bytes]);
    const file = readFileSync(fixtures + e.values_file);
    const want = bits(new Float32Array(file.buffer, file.byteOffset, file.byteLength / 4));
    assert.deepEqual(got.values[t.name], want, `${t.name} (${t.type}) dequantized bits`);
  }
  console.log(`parsed all_types.gguf in the browser: ${got.summary.tensors.length} tensors (${got.summary.tensors.map((t) => t.type).join(', ')})`);
});

test('a download prefix is checked before the data arrives', async () => {
  const bytes = readFileSync(`${fixtures}all_types.gguf`);
  const expected = JSON.parse(readFileSync(`${fixtures}all_types.json`, 'utf8'));
  const header = bytes.subarray(0, expected.data_offset);
  const got = await inPage(header, (mod, buffer) => {
    const prefix = new Uint8Array(buffer);
    const head = mod.inspectGguf(prefix, true);
    const error = (f) => { try { f(); return 'no error'; } catch (e) { return e.message; } };
    return {
      tensors: head.tensors.length,
      expectedLength: head.expectedLength,
      shortPrefix: error(() => mod.inspectGguf(prefix.subarray(0, 100), true)),
      fullParse: error(() => mod.inspectGguf(prefix, false)),
    };
  });
  assert.equal(got.tensors, expected.tensors.length);
  assert.ok(got.expectedLength <= bytes.length && got.expectedLength > expected.data_offset);
  assert.match(got.shortPrefix, /truncated/);
  assert.match(got.fullParse, /tensor data outside the file/);
});

test('malformed files are rejected with the byte offset', async () => {
  const cases = {
    'tensor_count_huge.gguf': /GGUF, byte 8: count larger than the file/,
    'unknown_ggml_type.gguf': /unknown tensor type: ggml type id 200/,
    'nested_too_deep.gguf': /arrays nested too deeply/,
    'bad_magic.gguf': /GGUF, byte 0: not a GGUF file/,
  };
  for (const [file, pattern] of Object.entries(cases)) {
    const message = await inPage(readFileSync(`${fixtures}malformed/${file}`), (mod, buffer) => {
      try { mod.inspectGguf(new Uint8Array(buffer), false); return 'no error'; } catch (e) { return e.message; }
    });
    assert.match(message, pattern, file);
  }
});
