// Demo page: load the wasm package, show the backends, run the kernel self-test on each.
import init, { Runtime } from './pkg/tritone.js';

const $ = (id) => document.getElementById(id);

// The browser's own description of its adapter: wgpu does not expose vendor/architecture.
async function describeAdapter() {
  if (!navigator.gpu) return null;
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return null;
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') || 'unnamed adapter';
}

function addRows(report) {
  const tbody = $('selftest').tBodies[0];
  for (const c of report.cases) {
    const row = tbody.insertRow();
    row.insertCell().textContent = c.name;
    row.insertCell().textContent = report.backend;
    const err = row.insertCell();
    err.className = 'num';
    err.textContent = c.error ?? c.maxRelError.toExponential(2);
    const verdict = row.insertCell();
    verdict.textContent = c.pass ? 'pass' : 'FAIL';
    verdict.className = c.pass ? 'pass' : 'fail';
  }
}

async function main() {
  await init();
  const runtime = await Runtime.create();
  const backends = runtime.backends();
  const adapter = await describeAdapter();
  $('gpu').textContent = backends.gpu
    ? `${adapter ?? backends.gpu.name} (WebGPU)`
    : `none — ${backends.gpuError}`;
  $('cpu').textContent = backends.simd128 ? 'CPU SIMD (wasm simd128)' : backends.cpu;
  $('active').textContent = backends.gpu ? 'WebGPU' : 'CPU SIMD';

  const reports = [await runtime.selfTest('cpu')];
  if (backends.gpu) reports.push(await runtime.selfTest('webgpu'));
  reports.forEach(addRows);
  const pass = reports.every((r) => r.pass);
  const verdict = $('verdict');
  verdict.textContent = pass ? 'PASS' : 'FAIL';
  verdict.className = `verdict ${pass ? 'pass' : 'fail'}`;
  document.body.dataset.selftest = pass ? 'pass' : 'fail';
}

main().catch((e) => {
  const verdict = $('verdict');
  verdict.textContent = `error: ${e.message ?? e}`;
  verdict.className = 'verdict fail';
  document.body.dataset.selftest = 'error';
  console.error(e);
});
