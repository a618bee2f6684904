// The browser's own description of its WebGPU adapter (wgpu does not expose vendor or
// architecture), shared by the demo page and the diagnostics page.
export async function describeAdapter() {
  if (!navigator.gpu) return null;
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return null;
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') || 'unnamed adapter';
}
