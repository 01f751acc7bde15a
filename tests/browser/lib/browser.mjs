// tests/browser/lib/browser.mjs - what every headless-Chromium test shares:
// where the browser and the screenshots are, and how a page is opened.
//
//   ARTIFACTS_DIR   where screenshots go (default <repo>/build/artifacts)
//   CHROMIUM        browser (default /usr/bin/chromium, Debian's)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from '../../integration/node_modules/playwright-core/index.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ARTIFACTS = process.env.ARTIFACTS_DIR || path.join(REPO, 'build', 'artifacts');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// Quiet, reproducible headless runs (no sandbox: CI containers lack user namespaces).
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Why the browser tests cannot run here, or false.
export function chromiumMissing() {
  return fs.existsSync(CHROMIUM) ? false : `chromium not found at ${CHROMIUM}`;
}

// A fresh browser profile in a new folder under parentDir, one page; errors
// collects page errors and console errors except those matching expected
// (a RegExp: failures the test provokes on purpose).
// Returns {bctx, page, errors}; the caller closes bctx.
export async function openPage(parentDir, { viewport = { width: 1280, height: 800 }, locale = 'zh-CN', expected = null,
  prefix = 'chromium-' } = {}) {
  const dir = fs.mkdtempSync(path.join(parentDir, prefix));
  const bctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS, viewport, locale,
  });
  const page = bctx.pages()[0] || await bctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !(expected && expected.test(m.text()))) errors.push(`console: ${m.text()}`);
  });
  return { bctx, page, errors };
}
