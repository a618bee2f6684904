// Diagnostics page: the backends, then the conformance suite (Runtime.selfTest) on the CPU and,
// when the browser has one, on WebGPU. Tests read document.body.dataset.conformance
// ('pass' | 'fail' | 'error') and window.conformance ({ cpu, webgpu } reports).
import init, { Runtime } from './pkg/tritone.js';
import { describeAdapter } from './adapter.js';

const $ = (id) => document.getElementById(id);

// maxRelError is NaN for an unsupported case and Infinity when a result is missing or non-finite.
function number(x) {
  if (Number.isNaN(x)) return '—';
  if (x === Infinity) return '∞';
  return x === 0 ? '0' : x.toExponential(2);
}

function addSummary(kind, report, ms) {
  const row = $('summary').tBodies[0].insertRow();
  row.className = report.failed ? 'fail' : '';
  row.dataset.backend = kind;
  row.insertCell().textContent = report.backend;
  for (const n of [report.passed, report.unsupported, report.failed]) {
    const cell = row.insertCell();
    cell.className = 'num';
    cell.textContent = n;
  }
  row.insertCell().textContent = `${(ms / 1000).toFixed(1)} s`;
}

function addCases(kind, report) {
  const tbody = $('cases').tBodies[0];
  for (const c of report.cases) {
    const row = tbody.insertRow();
    row.dataset.outcome = c.outcome; // style.css greys 'unsupported' rows and reds 'fail' ones
    row.dataset.backend = kind;
    if (c.message) row.title = c.message; // why unsupported, what failed, or the expected refusal
    row.insertCell().textContent = c.name;
    row.insertCell().textContent = c.op;
    row.insertCell().textContent = c.format;
    const backend = row.insertCell();
    backend.className = 'nowrap';
    backend.textContent = report.backend;
    for (const x of [c.maxRelError, c.tolerance]) {
      const cell = row.insertCell();
      cell.className = 'num';
      cell.textContent = number(x);
    }
    const outcome = row.insertCell();
    outcome.textContent = c.outcome === 'fail' ? 'FAIL' : c.outcome;
    if (c.outcome !== 'unsupported') outcome.className = c.outcome;
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

  const reports = {};
  const names = { cpu: 'the CPU', 'cpu-int8': 'the CPU in int8 arithmetic', webgpu: 'WebGPU' };
  for (const kind of backends.gpu ? ['cpu', 'cpu-int8', 'webgpu'] : ['cpu', 'cpu-int8']) {
    $('progress').textContent = `Running the suite on ${names[kind]}…`;
    const t0 = performance.now();
    const report = await runtime.selfTest(kind);
    reports[kind] = report;
    addSummary(kind, report, performance.now() - t0);
    addCases(kind, report);
  }
  window.conformance = reports;
  const all = Object.values(reports);
  const cases = all.reduce((n, r) => n + r.cases.length, 0);
  const pass = all.every((r) => r.failed === 0);
  $('progress').textContent = `${cases} cases on ${all.length} backend${all.length > 1 ? 's' : ''}`
    + (backends.gpu ? '' : ` (no WebGPU: ${backends.gpuError})`);
  const verdict = $('verdict');
  verdict.textContent = pass ? 'PASS' : 'FAIL';
  verdict.className = `verdict ${pass ? 'pass' : 'fail'}`;
  document.body.dataset.conformance = pass ? 'pass' : 'fail';
}

main().catch((e) => {
  const verdict = $('verdict');
  verdict.textContent = 'error';
  verdict.className = 'verdict fail';
  $('error').hidden = false;
  $('error').textContent = `${e.name ?? 'Error'}${e.code ? ` (${e.code})` : ''}: ${e.message ?? e}`;
  document.body.dataset.conformance = 'error';
  console.error(e);
});
