// Helpers shared by every browser test file: the server (started here when
// BASE_URL is not given), the browser, the test registry and runner, waiting
// for the app, and reading its state (the `data-*` attributes of #app-root
// and of the topology canvas).
//
//   import { test, run, open, ... } from './lib.mjs';
//   test('name', async (page) => { ... }, { viewport, allowErrors });
//   await run('builder');            // runs ONLY-matching tests, exits 0/1
//
// Conventions: a fresh browser context per test; console errors, page errors
// and failed requests fail the test unless `allowErrors`; a failing test leaves
// a FAILED-<prefix>-<name>.png screenshot in $SHOTS.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '..');
export const SHOTS = process.env.SHOTS || path.join(ROOT, 'target/screenshots');
export const ONLY = process.env.ONLY || '';
fs.mkdirSync(SHOTS, { recursive: true });

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export function assert(cond, msg) { if (!cond) throw new Error('assertion failed: ' + msg); }

// ------------------------------------------------------------ server, browser

let server = null;
/** Serve `dir` (default dist/) on a free port with Python's http.server. */
export async function startServer(dir = process.env.DIST || path.join(ROOT, 'dist')) {
  const port = await new Promise((res) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
  });
  server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dir], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(base)).ok) return base; } catch {}
    await sleep(100);
  }
  throw new Error('the test server did not start');
}
export function stopServer() { if (server) { server.kill(); server = null; } }

/** The app's address: $BASE_URL, else a server started here over dist/. */
export const BASE = process.env.BASE_URL || await startServer();

export const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

// ------------------------------------------------------------ registry, runner

const tests = [];
export const test = (name, fn, opts = {}) => tests.push({ name, fn, opts });

/**
 * Run the registered tests (those matching $ONLY), print ok/FAIL lines, close
 * the browser and exit non-zero when any failed. `label` names the suite in
 * the summary and the failure screenshots; `setup(context)` runs per context.
 */
export async function run(label = '', setup = null, ignoreRequest = () => false) {
  let failed = 0;
  for (const t of tests) {
    if (ONLY && !t.name.includes(ONLY)) continue;
    const context = await browser.newContext({ acceptDownloads: true, viewport: t.opts.viewport || { width: 1280, height: 800 } });
    if (setup) await setup(context);
    const page = await context.newPage();
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push('console.error: ' + m.text()); });
    page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
    page.on('requestfailed', (r) => {
      // A request cut short by the next navigation (a favicon, say) is not the app failing.
      if (r.failure()?.errorText === 'net::ERR_ABORTED' || ignoreRequest(r.url())) return;
      errors.push('request failed: ' + r.url());
    });
    const started = Date.now();
    try {
      await t.fn(page);
      if (!t.opts.allowErrors && errors.length) throw new Error('errors in the console:\n      ' + errors.join('\n      '));
      console.log(`ok   ${t.name} (${Date.now() - started} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${t.name}\n     ${e.message}`);
      const prefix = label ? `FAILED-${label}-` : 'FAILED-';
      try { await shot(page, prefix + t.name.replace(/[^a-z0-9]+/gi, '-')); } catch {}
    }
    await context.close();
  }
  await browser.close();
  stopServer();
  const what = label ? `${label} test(s)` : 'test(s)';
  console.log(failed ? `${failed} ${what} failed` : `all ${label ? label + ' ' : ''}tests passed`);
  process.exit(failed ? 1 : 0);
}

// ------------------------------------------------------------ waiting for the app

/** Wait until the canvas has drawn nodes at real positions. */
export async function ready(page) {
  await page.waitForSelector('#topology');
  await page.waitForFunction(() => {
    const c = document.querySelector('#topology');
    return c && c.width > 10 && (c.dataset.nodes || '').length > 0 && !/NaN|:0,0/.test(c.dataset.nodes);
  });
  await sleep(150);
}
export async function open(page, query = '') {
  await page.goto(BASE + query);
  await ready(page);
}
/** Show the charts and event log if they started folded (a projector-sized
 *  window starts that way), as a user would: one click on "▴ Charts". */
export async function unfoldCharts(page) {
  if ((await page.getAttribute('#fold-bottom', 'aria-pressed')) === 'true') {
    await page.click('#fold-bottom');
    await settle(page);
  }
}
/** Two animation frames: the view refits after any resize, the DOM follows. */
export async function settle(page) {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await sleep(250);
}

// ------------------------------------------------------------ reading state

export const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, name + '.png') });
export const attr = (page, name) => page.getAttribute('#app-root', name);
export const tUs = async (page) => Number(await attr(page, 'data-t-us'));
export const hash = (page) => attr(page, 'data-trace-hash');
export const num = async (page, sel) => Number((await page.textContent(sel)).replace(/[^0-9.]/g, ''));
export const total = (page, id) => num(page, `#${id} .v`);
export const canvasData = (page) => page.evaluate(() => document.querySelector('#topology').toDataURL());
export const presets = async (page) => page.$$eval('#preset option', (os) => os.map((o) => o.value).filter(Boolean));

/** Parse a canvas `id:x,y;…` attribute into a Map id → {x, y}. */
export function points(s) {
  const out = new Map();
  for (const part of (s || '').split(';').filter(Boolean)) {
    const k = part.lastIndexOf(':');
    const [x, y] = part.slice(k + 1).split(',').map(Number);
    out.set(part.slice(0, k), { x, y });
  }
  return out;
}
export async function nodePos(page, id) {
  const s = await page.getAttribute('#topology', 'data-nodes');
  const p = points(s).get(id);
  if (!p) throw new Error(`node ${id} not on the canvas: ${s}`);
  return p;
}
export async function clickNode(page, id) {
  const box = await page.locator('#topology').boundingBox();
  const p = await nodePos(page, id);
  await page.mouse.click(box.x + p.x, box.y + p.y);
  await sleep(150);
}
export async function play(page) {
  if ((await attr(page, 'data-playing')) !== 'true') await page.click('#play');
}
export async function pause(page) {
  if ((await attr(page, 'data-playing')) === 'true') await page.click('#play');
  await sleep(100);
}
export async function setSpeed(page, v) {
  await page.$eval('#speed', (el, v) => { el.value = String(Math.log10(v)); el.dispatchEvent(new Event('input', { bubbles: true })); }, v);
}
export async function seekMs(page, ms) {
  await page.$eval('#scrubber', (el, ms) => { el.value = String(ms); el.dispatchEvent(new Event('input', { bubbles: true })); }, ms);
  await sleep(100);
}
export async function totals(page) {
  const ids = ['t-published', 't-processed', 't-retried', 't-dead', 't-expired', 't-dropped', 't-inflight'];
  const out = {};
  for (const id of ids) {
    // A total the page does not show (embeds, presenter mode) is left out.
    if (await page.$(`#${id} .v`)) out[id] = await total(page, id);
  }
  return out;
}
