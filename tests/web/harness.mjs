// Shared by the browser tests: headless Chromium with WebGPU, and the static server.
import { chromium } from 'playwright-core';
import { fileURLToPath } from 'node:url';

export { serve } from '../../scripts/serve.mjs';

export const root = fileURLToPath(new URL('../../', import.meta.url));

// Flags from the machine notes: WebGPU on (SwiftShader without a GPU), nothing that phones home.
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--enable-unsafe-webgpu', '--no-sandbox', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}
