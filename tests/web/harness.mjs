// Shared by the browser tests: headless Chromium with WebGPU, and the static server.
import { chromium } from 'playwright-core';
import { fileURLToPath } from 'node:url';

import { serve } from '../../scripts/serve.mjs';

export { serve };

export const root = fileURLToPath(new URL('../../', import.meta.url));

// The demo site served from www/ and one page open on it; `close()` ends both.
export async function openDemoPage() {
  const server = await serve(`${root}www`);
  const browser = await launchBrowser();
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  return { page, close: async () => { await browser.close(); server.close(); } };
}

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
