// Shared set-up of the browser tests: the real binary on a fresh SQLite database with the demo
// county, and Debian's headless Chromium. Not a test file itself (no `.test.` in the name).
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const bin = process.env.SHOUWANG_BIN || join(root, 'target', 'debug', 'shouwang');
export const fixtures = join(here, '..', 'fixtures');
export const shots = join(here, '..', 'screenshots');
mkdirSync(shots, { recursive: true });

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function waitHealthy(url, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try { if ((await fetch(url)).ok) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server not healthy at ${url}`);
}

/** Starts the server and the browser; returns { base, browser, stop }. */
export async function start(members = 2000, claims = 20) {
  const dir = mkdtempSync(join(tmpdir(), 'sw-e2e-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(bin, ['serve', '--demo', '--demo-members', String(members), '--demo-claims', String(claims), '--bind', `127.0.0.1:${port}`,
    '--database-url', `sqlite://${join(dir, 'e2e.db')}`], { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitHealthy(`${base}/healthz`, 120000);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return { base, browser, stop: async () => { await browser.close(); server.kill(); } };
}

/** A new page signed in as one of the demo accounts. */
export async function signIn(env, username, viewport = { width: 1366, height: 768 }) {
  const page = await env.browser.newPage({ viewport });
  await page.goto(`${env.base}/login`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', 'shouwang2026');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/regions\//);
  return page;
}
