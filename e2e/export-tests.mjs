// End-to-end tests of the Export menu: the topology as SVG, the picture as
// PNG, the time series as CSV and the trace as JSON lines, each a download
// whose content matches the app's state.
//
//   BASE_URL=http://127.0.0.1:PORT/ SHOTS=../target/screenshots node export-tests.mjs
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const BASE = process.env.BASE_URL || 'http://127.0.0.1:8765/';
const SHOTS = process.env.SHOTS || path.resolve('../target/screenshots');
const ONLY = process.env.ONLY || '';
fs.mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

const tests = [];
const test = (name, fn, opts = {}) => tests.push({ name, fn, opts });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function assert(cond, msg) { if (!cond) throw new Error('assertion failed: ' + msg); }

async function open(page, query = '') {
  await page.goto(BASE + query);
  await page.waitForSelector('#topology');
  await page.waitForFunction(() => {
    const c = document.querySelector('#topology');
    return c && c.width > 10 && (c.dataset.nodes || '').length > 0 && !/NaN|:0,0/.test(c.dataset.nodes);
  });
  await sleep(150);
}
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, name + '.png') });
const num = async (page, sel) => Number((await page.textContent(sel)).replace(/[^0-9.]/g, ''));
const total = (page, id) => num(page, `#${id} .v`);
const tUs = async (page) => Number(await page.getAttribute('#app-root', 'data-t-us'));
const canvasData = (page) => page.evaluate(() => document.querySelector('#topology').toDataURL());
async function nodePos(page, id) {
  const s = await page.getAttribute('#topology', 'data-nodes');
  for (const part of s.split(';')) {
    const [name, xy] = [part.slice(0, part.lastIndexOf(':')), part.slice(part.lastIndexOf(':') + 1)];
    if (name === id) { const [x, y] = xy.split(',').map(Number); return { x, y }; }
  }
  throw new Error(`node ${id} not on the canvas: ${s}`);
}
async function clickNode(page, id) {
  const box = await page.locator('#topology').boundingBox();
  const p = await nodePos(page, id);
  await page.mouse.click(box.x + p.x, box.y + p.y);
  await sleep(150);
}
async function play(page) {
  if ((await page.getAttribute('#app-root', 'data-playing')) !== 'true') await page.click('#play');
}
async function pause(page) {
  if ((await page.getAttribute('#app-root', 'data-playing')) === 'true') await page.click('#play');
  await sleep(100);
}
async function setSpeed(page, v) {
  await page.$eval('#speed', (el, v) => { el.value = String(Math.log10(v)); el.dispatchEvent(new Event('input', { bubbles: true })); }, v);
}
async function seekMs(page, ms) {
  await page.$eval('#scrubber', (el, ms) => { el.value = String(ms); el.dispatchEvent(new Event('input', { bubbles: true })); }, ms);
  await sleep(100);
}
async function totals(page) {
  const ids = ['t-published', 't-processed', 't-retried', 't-dead', 't-expired', 't-dropped', 't-inflight'];
  const out = {};
  for (const id of ids) out[id] = await total(page, id);
  return out;
}

// ---------------------------------------------------------------- tests

async function download(page, kind) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.selectOption('#export', kind)]);
  const file = path.join(SHOTS, 'export-' + d.suggestedFilename());
  await d.saveAs(file);
  return { name: d.suggestedFilename(), text: fs.readFileSync(file, kind === 'png' ? null : 'utf8') };
}

test('the export menu downloads SVG, PNG, CSV and JSON lines that match the run', async (page) => {
  await open(page, '?preset=topic-routing');
  await play(page);
  await sleep(1500);
  await pause(page);
  const svg = await download(page, 'svg');
  assert(svg.name === 'topic-routing.svg', svg.name);
  assert(svg.text.startsWith('<svg') && svg.text.includes('>alerts<') && svg.text.includes('kern.#'), 'nodes and binding keys in the SVG');
  const png = await download(page, 'png');
  assert(png.text.slice(1, 4).toString() === 'PNG' && png.text.length > 5000, 'a PNG of the canvas');
  const csv = await download(page, 'csv');
  const rows = csv.text.trim().split('\n');
  assert(rows[0].startsWith('t_s,published') && rows[0].includes('depth:alerts'), rows[0]);
  assert(rows.length >= 2, 'at least one sample');
  const trace = await download(page, 'jsonl');
  const lines = trace.text.trim().split('\n').map((l) => JSON.parse(l));
  const published = await total(page, 't-published');
  assert(lines.filter((e) => e.kind === 'published').length === published, `one published line per publish (${published})`);
  assert(lines.every((e, i) => e.seq === lines[0].seq + i), 'seq numbers are contiguous');
  assert((await page.$eval('#export', (el) => el.value)) === '', 'the menu resets to its label');
});

// ---------------------------------------------------------------- runner

let failed = 0;
for (const t of tests) {
  if (ONLY && !t.name.includes(ONLY)) continue;
  const context = await browser.newContext({ acceptDownloads: true, viewport: t.opts.viewport || { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push('console.error: ' + m.text()); });
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  page.on('requestfailed', (r) => errors.push('request failed: ' + r.url()));
  const started = Date.now();
  try {
    await t.fn(page);
    if (!t.opts.allowErrors && errors.length) throw new Error('errors in the console:\n      ' + errors.join('\n      '));
    console.log(`ok   ${t.name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${t.name}\n     ${e.message}`);
    try { await shot(page, 'FAILED-' + t.name.replace(/[^a-z0-9]+/gi, '-')); } catch {}
  }
  await context.close();
}
await browser.close();
console.log(failed ? `${failed} test(s) failed` : 'all tests passed');
process.exit(failed ? 1 : 0);
