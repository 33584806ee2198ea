// Browser tests of the picture itself: for every preset, at 1366×768 and
// 1024×640, normally and in presenter mode, every drawn box (nodes, binding
// labels, the dead-letter caption — read from the canvas's `data-boxes`, the
// same boxes the canvas draws) stays inside the canvas, no two overlap, the
// legend strip covers none of them, and no text had to be squeezed to fit.
// Also presenter mode itself, pan and zoom, and the embed link.
//
//   BASE_URL=http://127.0.0.1:PORT/ SHOTS=../target/screenshots node layout-tests.mjs
//
// Screenshots of every case go to $SHOTS/layout/. Exits non-zero on failure.
import fs from 'node:fs';
import path from 'node:path';

import {
  test, run, sleep, assert, settle, presets, BASE, ONLY, browser, SHOTS as SHOTS_ROOT,
} from './lib.mjs';

const SHOTS = path.join(SHOTS_ROOT, 'layout');
fs.mkdirSync(SHOTS, { recursive: true });

/** Open the app and wait until the canvas has drawn its boxes. */
async function open(page, query) {
  await page.goto(BASE + query);
  await page.waitForFunction(() => {
    const c = document.querySelector('#topology');
    return c && c.width > 10 && (c.dataset.boxes || '').length > 2 && !/NaN/.test(c.dataset.boxes);
  });
  await settle(page);
}

/// The picture's boxes and the problems found with them. A run that reaches
/// its duration shows a summary that resizes the canvas; for the one frame in
/// which the boxes describe the old size, look again before calling it a
/// problem (a real overlap is still there 250 ms later).
async function checkPicture(page, where) {
  let r = await checkOnce(page, where);
  for (let i = 0; i < 2 && r.problems.length > 0; i++) {
    await settle(page);
    r = await checkOnce(page, where);
  }
  return r;
}

async function checkOnce(page, where) {
  const r = await page.evaluate(() => {
    const c = document.querySelector('#topology');
    const cr = c.getBoundingClientRect();
    const boxes = JSON.parse(c.dataset.boxes);
    const strip = document.querySelector('#legend-strip');
    const sr = strip ? strip.getBoundingClientRect() : null;
    const overlays = [...document.querySelectorAll('#legend, .embed-open, #not-drawn')].map((e) => {
      const b = e.getBoundingClientRect();
      return { id: e.id || e.className, x: b.x, y: b.y, w: b.width, h: b.height };
    });
    return {
      canvas: { x: cr.x, y: cr.y, w: cr.width, h: cr.height }, boxes, strip: sr && { x: sr.x, y: sr.y, w: sr.width, h: sr.height },
      overlays, squeezed: Number(c.dataset.squeezed || 0), namePx: Number(c.dataset.namePx),
    };
  });
  const problems = [];
  const eps = 0.5;
  const { canvas, boxes } = r;
  assert(boxes.length > 0, `${where}: boxes exposed`);
  for (const b of boxes) {
    if (b.x < -eps || b.y < -eps || b.x + b.w > canvas.w + eps || b.y + b.h > canvas.h + eps) {
      problems.push(`${b.kind} "${b.id}" leaves the ${canvas.w}×${canvas.h} canvas: ${JSON.stringify(b)}`);
    }
  }
  const inter = (a, b) => Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x) > eps
    && Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y) > eps;
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      if (inter(boxes[i], boxes[j])) problems.push(`${boxes[i].kind} "${boxes[i].id}" overlaps ${boxes[j].kind} "${boxes[j].id}"`);
    }
  }
  // Overlays (legend, embed link, notes) against every box, in page coordinates.
  for (const o of r.overlays) {
    for (const b of boxes) {
      const pb = { x: canvas.x + b.x, y: canvas.y + b.y, w: b.w, h: b.h };
      if (inter(o, pb)) problems.push(`${o.id} covers ${b.kind} "${b.id}"`);
    }
  }
  if (r.squeezed > 0) problems.push(`${r.squeezed} text(s) had to be squeezed to fit their box`);
  return { ...r, problems };
}

const sizes = [{ width: 1366, height: 768 }, { width: 1024, height: 640 }];
/** Presets whose presenter picture cannot hold 24 px names at 1024×640 (none
 *  since fanout-large folds into columns; kept for a preset that cannot). */
const SMALL_NAMES = new Set([]);
for (const vp of sizes) {
  for (const presenter of [false, true]) {
    const mode = presenter ? 'presenter' : 'normal';
    test(`no overlaps or clipping on any preset at ${vp.width}×${vp.height}, ${mode}`, async (page) => {
      await open(page, '?preset=mm1');
      const names = await presets(page);
      assert(names.length >= 13, 'presets listed');
      const all = [];
      for (const name of names) {
        // Run a little first so the live numbers in the boxes have digits.
        await open(page, `?preset=${name}&autoplay=1&speed=20${presenter ? '&presenter=1' : ''}`);
        await sleep(900);
        const r = await checkPicture(page, `${name} ${mode}`);
        await page.screenshot({ path: path.join(SHOTS, `${name}-${vp.width}x${vp.height}-${mode}.png`) });
        console.log(`    ${name.padEnd(16)} canvas ${Math.round(r.canvas.w)}×${Math.round(r.canvas.h)}  names ${r.namePx.toFixed(1)} px  ${r.boxes.length} boxes  ${r.problems.length ? 'PROBLEMS' : 'clean'}`);
        for (const p of r.problems) all.push(`${name}: ${p}`);
        // A room reads the names: ≥ 24 px in presenter mode on a projector,
        // except a preset listed in SMALL_NAMES (none today).
        if (presenter && vp.width === 1024 && r.namePx < 24 && !SMALL_NAMES.has(name)) {
          all.push(`${name}: node names at ${r.namePx.toFixed(1)} px in presenter mode (want ≥ 24)`);
        }
      }
      assert(all.length === 0, `\n      ${all.join('\n      ')}`);
    }, { viewport: vp });
  }
}

test('presenter mode at 1024×640: key p, large names, one chart large, no overlaps', async (page) => {
  // Panels open from the start (a projector would start with them folded).
  await open(page, '?preset=topic-routing&autoplay=1&speed=5&charts=1&side=1');
  assert(await page.isVisible('.side'), 'side panel before');
  await page.keyboard.press('p');
  await settle(page);
  assert((await page.getAttribute('#app-root', 'data-presenter')) === 'true', 'p turns presenter mode on');
  assert(!(await page.isVisible('.side')) && !(await page.isVisible('.bottom')), 'panels folded');
  const cv = await page.locator('#topology').boundingBox();
  assert(cv.width >= 1000 && cv.height >= 420, `canvas fills the screen (${cv.width}×${cv.height})`);
  let r = await checkPicture(page, 'presenter');
  assert(r.namePx >= 24, `node names at ≥ 24 px (got ${r.namePx})`);
  assert(r.problems.length === 0, r.problems.join('; '));
  await page.screenshot({ path: path.join(SHOTS, 'presenter-topic-routing.png') });
  const bar = await page.locator('.topbar').boundingBox();
  assert(bar.height < 60, `presenter top bar on one line (${bar.height}px)`);
  await page.selectOption('#big-chart', 'chart-latency');
  await settle(page);
  assert(await page.isVisible('.big-chart #chart-latency'), 'latency chart shown large');
  const ch = await page.locator('#chart-latency').boundingBox();
  assert(ch.width > 300 && ch.height > 300, `chart is large (${ch.width}×${ch.height})`);
  r = await checkPicture(page, 'presenter + chart');
  assert(r.problems.length === 0, r.problems.join('; '));
  await page.screenshot({ path: path.join(SHOTS, 'presenter-topic-routing-chart.png') });
  await page.selectOption('#big-chart', '');
  await settle(page);
  assert(!(await page.isVisible('.big-chart')), 'chart hidden again');
  await page.click('#presenter');
  await settle(page);
  assert((await page.getAttribute('#app-root', 'data-presenter')) === 'false', 'button leaves presenter mode');
  assert(await page.isVisible('.side'), 'panels back');
}, { viewport: { width: 1024, height: 640 } });

test('a projector starts with the picture in its room; the panels come back on a click', async (page) => {
  await open(page, '?preset=kafka-three-groups');
  const size = async () => {
    const b = await page.locator('#topology').boundingBox();
    return { w: b.width, h: b.height, name: Number(await page.getAttribute('#topology', 'data-name-px')) };
  };
  // Under 700 px tall the charts and event log start folded, under 1200 px
  // wide the side panel too: a 12-partition topic with three groups reads.
  const a = await size();
  assert(!(await page.isVisible('#chart-latency')), 'charts folded at start');
  assert(!(await page.isVisible('.side')), 'side panel folded at start');
  assert((await page.getAttribute('#fold-bottom', 'aria-pressed')) === 'true', 'the button says folded');
  assert(a.w >= 1000 && a.h >= 420, `canvas ${a.w}×${a.h}`);
  assert(a.name >= 16, `names at ${a.name} px`);
  const r = await checkPicture(page, 'folded');
  assert(r.problems.length === 0, r.problems.join('; '));
  await page.screenshot({ path: path.join(SHOTS, 'kafka-three-groups-1024x640-folded.png') });
  await page.click('#fold-bottom');
  await settle(page);
  assert(await page.isVisible('#chart-latency'), 'charts back');
  assert((await page.getAttribute('#fold-bottom', 'aria-pressed')) === 'false', 'the button says shown');
  const bar = await page.locator('.topbar').boundingBox();
  assert(bar.height < 60, `top bar on one row with the side folded (${bar.height}px)`);
  await page.click('#show-side');
  await settle(page);
  assert(await page.isVisible('.side'), 'side panel back');
  const b = await size();
  assert(a.h >= b.h + 120 && a.name >= b.name * 1.3, `canvas ${a.w}×${a.h} (${a.name} px) → ${b.w}×${b.h} (${b.name} px)`);
  await page.click('#hide-side');
  await page.click('#fold-bottom');
  await settle(page);
  const c = await size();
  assert(Math.abs(c.h - a.h) < 2 && Math.abs(c.w - a.w) < 2, `canvas back (${a.w}×${a.h} vs ${c.w}×${c.h})`);
  // The URL can ask for the panels on a projector; a lesson keeps its side panel.
  await open(page, '?preset=kafka-three-groups&charts=1&side=1');
  assert(await page.isVisible('#chart-latency') && await page.isVisible('.side'), 'charts=1&side=1 open both');
  await open(page, '?lesson=why-queues-grow');
  assert(await page.isVisible('.side'), 'a lesson opens with its side panel');
}, { viewport: { width: 1024, height: 640 } });

test('pan and zoom by keyboard, wheel and drag; 0 fits again', async (page) => {
  await open(page, '?preset=fanout-large');
  const scale = async () => Number(await page.getAttribute('#topology', 'data-scale'));
  const first = async () => (await page.getAttribute('#topology', 'data-nodes')).split(';')[0].split(':')[1].split(',').map(Number);
  const s0 = await scale();
  await page.keyboard.press('+');
  await settle(page);
  assert((await scale()) > s0 * 1.2, `+ zooms in (${s0} → ${await scale()})`);
  await page.keyboard.press('0');
  await settle(page);
  assert(Math.abs((await scale()) - s0) < 1e-3, '0 fits again');
  const box = await page.locator('#topology').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -300);
  await settle(page);
  assert((await scale()) > s0, 'wheel zooms in');
  const p0 = await first();
  await page.keyboard.press('ArrowRight');
  await settle(page);
  const p1 = await first();
  assert(p1[0] < p0[0] - 30, `arrow pans (${p0} → ${p1})`);
  // Drag on an empty spot of the background (top-left corner is clear of nodes).
  await page.mouse.move(box.x + 5, box.y + 5);
  await page.mouse.down();
  for (let k = 1; k <= 5; k++) await page.mouse.move(box.x + 5 + 10 * k, box.y + 5 + 8 * k);
  await page.mouse.up();
  await settle(page);
  const p2 = await first();
  assert(p2[0] > p1[0] + 30 && p2[1] > p1[1] + 20, `drag pans (${p1} → ${p2})`);
  assert(await page.isVisible('#fit-view'), 'a Fit button appears');
  await page.click('#fit-view');
  await settle(page);
  assert(Math.abs((await scale()) - s0) < 1e-3, 'Fit fits again');
});

test('embed: the Open link sits in the strip, clear of the picture', async (page) => {
  for (const name of ['topic-routing', 'pubsub-fanout', 'fanout-large']) {
    await open(page, `?preset=${name}&embed=1&autoplay=1&speed=5`);
    await sleep(500);
    const r = await checkPicture(page, `embed ${name}`);
    assert(r.overlays.some((o) => String(o.id).includes('embed-open')), 'open link present');
    assert(r.problems.length === 0, r.problems.join('; '));
    await page.screenshot({ path: path.join(SHOTS, `embed-${name}.png`) });
  }
}, { viewport: { width: 900, height: 520 } });

test('the legend explains every mark the canvas uses', async (page) => {
  await open(page, '?preset=ttl-overflow');
  const ttl = await page.$$eval('#legend [data-mark]', (es) => es.map((e) => e.dataset.mark));
  assert(ttl.includes('max-tick') && ttl.includes('dead-path'), `max length and dead-letter path explained (${ttl})`);
  assert(!ttl.includes('retry-loop'), 'no retry loop in the legend where there is none');
  await open(page, '?preset=retry-backoff');
  const marks = await page.$$eval('#legend [data-mark]', (es) => es.map((e) => e.dataset.mark));
  for (const m of ['fate-0', 'fate-1', 'fate-2', 'fate-3', 'fate-4', 'fate-5', 'flow', 'dead-path', 'retry-loop',
    'busy', 'idle', 'crashed', 'failed-flash', 'command-halo', 'gone-ring', 'fill', 'more']) {
    assert(marks.includes(m), `legend explains ${m} (has ${marks.join(', ')})`);
  }
  const colors = await page.evaluate(() => {
    const fill = getComputedStyle(document.querySelector('.app')).getPropertyValue('--fill').trim();
    const retried = document.querySelector('[data-mark="fate-1"] rect').getAttribute('fill');
    const flash = document.querySelector('[data-mark="failed-flash"] rect').getAttribute('stroke');
    const dropped = document.querySelector('[data-mark="fate-4"] rect').getAttribute('fill');
    return { fill, retried, flash, dropped };
  });
  assert(colors.fill.toLowerCase() !== colors.retried.toLowerCase(), `fill bar colour differs from retried (${JSON.stringify(colors)})`);
  assert(colors.flash.toLowerCase() !== colors.dropped.toLowerCase(), `failure flash differs from the red of drops (${JSON.stringify(colors)})`);
});

// ---------------------------------------------------------------- runner

await run('layout');
