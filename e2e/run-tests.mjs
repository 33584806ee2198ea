// End-to-end tests of the QueueLab release build in Debian's headless Chromium.
//
//   BASE_URL=http://127.0.0.1:PORT/ SHOTS=../target/screenshots node run-tests.mjs
//
// Each test gets a fresh page; console errors and page errors fail the test
// (except in the panic-banner test, which panics on purpose). Screenshots go to
// $SHOTS. Exits non-zero when any test fails.
import fs from 'node:fs';
import path from 'node:path';
import {
  test, run, open, sleep, assert, shot, num, total, tUs, canvasData, nodePos, clickNode, play, pause,
  setSpeed, seekMs, totals, browser, BASE, SHOTS, ONLY, attr, hash, ready,
} from './lib.mjs';

// ---------------------------------------------------------------- tests

test('loads with the default preset, legend and totals', async (page) => {
  await open(page);
  assert((await page.textContent('.brand')).includes('QueueLab'), 'brand shown');
  assert(await page.isVisible('#legend'), 'legend visible');
  assert(await page.isVisible('#totals'), 'totals visible');
  assert((await page.$$('#preset option')).length >= 13, 'all presets listed');
  assert(await page.isVisible('.inspect-empty h2'), 'scenario description shown');
  await shot(page, '01-load');
});

test('every preset loads, runs and draws', async (page) => {
  await open(page);
  const names = await page.$$eval('#preset option', (os) => os.map((o) => o.value).filter(Boolean));
  assert(names.length >= 13, `13 presets, got ${names.length}`);
  await setSpeed(page, 5);
  for (const name of names) {
    await page.selectOption('#preset', name);
    await sleep(100);
    const title = await page.textContent('.inspect-empty h2');
    assert(title.length > 3, `${name}: title shown`);
    await play(page);
    await sleep(1200);
    await pause(page);
    const t = await total(page, 't-published');
    assert(t > 0, `${name}: messages published after playing (got ${t})`);
    await shot(page, `preset-${name}`);
  }
});

test('play makes counters grow and tokens move; pause stops time', async (page) => {
  await open(page, '?preset=work-queue');
  assert((await total(page, 't-published')) === 0, 'nothing before play');
  await play(page);
  await sleep(1000);
  const a = await total(page, 't-published');
  const img1 = await canvasData(page);
  await sleep(250);
  const img2 = await canvasData(page);
  await sleep(900);
  const b = await total(page, 't-published');
  assert(a > 0 && b > a, `published grows while playing (${a} → ${b})`);
  assert(img1 !== img2, 'canvas pixels change between frames while playing');
  await shot(page, '02-playing');
  await pause(page);
  const t1 = await tUs(page);
  const c1 = await total(page, 't-published');
  await sleep(700);
  assert((await tUs(page)) === t1, 'clock stands still when paused');
  assert((await total(page, 't-published')) === c1, 'counters stand still when paused');
  assert(t1 % 1000 === 0, `paused on a whole millisecond (${t1})`);
});

test('step processes exactly one event', async (page) => {
  await open(page, '?preset=mm1');
  const ev = async () => Number((await page.textContent('.scrubber .events')).replace(/[^0-9]/g, ''));
  const e0 = await ev();
  await page.click('#step');
  await sleep(100);
  const e1 = await ev();
  await page.click('#step');
  await page.click('#step');
  await sleep(100);
  const e3 = await ev();
  assert(e1 === e0 + 1 && e3 === e0 + 3, `events ${e0} → ${e1} → ${e3}`);
  assert((await page.textContent('#log-count')).match(/[1-9]/), 'the log shows the stepped events');
});

test('scrub back: the view at T is the same by play and by seek', async (page) => {
  await open(page, '?preset=retry-backoff&seed=3');
  await setSpeed(page, 4);
  await play(page);
  await sleep(1200);
  await pause(page);
  const T = await tUs(page);
  await sleep(2500); // tokens in flight finish; the picture is now a function of state
  const tot1 = await totals(page);
  const img1 = await canvasData(page);
  const log1 = await page.textContent('#log-count');
  await shot(page, '03-paused-at-T');
  await play(page);
  await sleep(1500);
  await pause(page);
  const later = await tUs(page);
  assert(later > T, 'time moved on');
  const totLater = await totals(page);
  assert(totLater['t-published'] > tot1['t-published'], 'more published later');
  await seekMs(page, T / 1000);
  assert((await tUs(page)) === T, `seek landed on T (${await tUs(page)} vs ${T})`);
  await sleep(2500);
  const tot2 = await totals(page);
  assert(JSON.stringify(tot1) === JSON.stringify(tot2), `totals at T equal: ${JSON.stringify(tot1)} vs ${JSON.stringify(tot2)}`);
  assert((await page.textContent('#log-count')) === log1, 'same log length at T');
  const img2 = await canvasData(page);
  await shot(page, '04-seeked-to-T');
  if (img1 !== img2) {
    fs.writeFileSync(path.join(SHOTS, 'FAILED-canvas-by-play.png'), Buffer.from(img1.split(',')[1], 'base64'));
    fs.writeFileSync(path.join(SHOTS, 'FAILED-canvas-by-seek.png'), Buffer.from(img2.split(',')[1], 'base64'));
  }
  assert(img1 === img2, 'canvas picture at T identical by play and by seek');
  // Forward again to the horizon and back to 0.
  await seekMs(page, later / 1000);
  assert(JSON.stringify(await totals(page)) === JSON.stringify(totLater), 'seek forward restores the later totals');
  await seekMs(page, 0);
  assert((await total(page, 't-published')) === 0, 'seek to 0 shows nothing published');
});

test('a knob changes the run: one worker makes the queue grow', async (page) => {
  await open(page, '?preset=work-queue');
  await clickNode(page, 'workers');
  assert((await page.textContent('#inspector-title')) === 'workers', 'consumer inspector open');
  assert((await page.textContent('#instances-value')).trim() === '3', '3 instances');
  await page.click('#instances-minus');
  await page.click('#instances-minus');
  await sleep(100);
  assert((await page.textContent('#instances-value')).trim() === '1', 'scaled to 1');
  await setSpeed(page, 5);
  await play(page);
  await sleep(2500);
  await pause(page);
  await clickNode(page, 'task-queue');
  const depth = await num(page, '#queue-depth');
  assert(depth > 10, `queue grows with one worker (depth ${depth})`);
  await shot(page, '05-knob-one-worker');
  // The command is in the log and replayed by rewind.
  await page.selectOption('#log-kind', 'command_applied');
  await sleep(150);
  const rows = await page.$$eval('.log-row', (rs) => rs.map((r) => r.textContent));
  assert(rows.some((r) => r.includes('instances → 1')), `command in the event log: ${rows.join(' | ')}`);
  const T = await tUs(page);
  const d1 = depth;
  await seekMs(page, 0);
  await seekMs(page, T / 1000);
  const d2 = await num(page, '#queue-depth');
  assert(d1 === d2, `rewind replays the command (depth ${d1} vs ${d2})`);
});

test('producer rate knob doubles the rate', async (page) => {
  await open(page, '?preset=mm1');
  await clickNode(page, 'arrivals');
  await page.click('#rate-double');
  await sleep(150);
  assert((await page.inputValue('#knob-rate')) === '16', 'rate shows 16/s');
  await page.fill('#knob-rate', '-1');
  await page.$eval('#knob-rate', (el) => el.dispatchEvent(new Event('change', { bubbles: true })));
  await sleep(150);
  assert(await page.isVisible('#command-toast'), 'a refused value shows a message');
  await page.click('#inspector .close');
  await sleep(100);
  assert((await page.textContent('#commands')).includes('rate → 16/s'), 'command listed');
  assert(!(await page.textContent('#commands')).includes('-1'), 'the refused value was not applied');
});

test('producer arrivals knob switches to bursts and it shows in the queue', async (page) => {
  await open(page, '?preset=work-queue');
  await clickNode(page, 'tasks');
  await page.selectOption('#knob-arrival', 'bursts:200');
  await sleep(150);
  assert((await page.inputValue('#knob-arrival')) === 'bursts:200', 'the knob shows bursts of 200');
  await page.click('#inspector .close');
  await sleep(100);
  assert((await page.textContent('#commands')).includes('bursts of 200'), 'command listed');
  // 200 tasks arrive at once every 5 s: the three workers cannot take them
  // all, so the queue holds a backlog right after the first burst. Played
  // past it, then rewound to 5.3 s exactly: a busy machine's late pause
  // cannot miss the backlog.
  await setSpeed(page, 5);
  await play(page);
  for (let i = 0; i < 400 && (await tUs(page)) < 5_300_000; i++) await sleep(25);
  await pause(page);
  assert((await tUs(page)) >= 5_300_000, 'played past the first burst');
  await seekMs(page, 5300);
  const t = await tUs(page);
  assert(t === 5_300_000, `seek landed just after the first burst (t ${t})`);
  await clickNode(page, 'task-queue');
  const depth = await num(page, '#queue-depth');
  assert(depth > 20, `a burst backs up the queue (depth ${depth})`);
});

test('clicking a log line shows the message journey', async (page) => {
  await open(page, '?preset=retry-queue&speed=5&autoplay=1');
  await sleep(2000);
  await pause(page);
  await page.fill('#log-msg', '3');
  await sleep(200);
  const n = await page.$$eval('.log-row', (r) => r.length);
  assert(n >= 3, `message 3 has events (${n})`);
  await page.click('.log-row >> nth=0');
  await sleep(200);
  assert(await page.isVisible('#journey'), 'journey panel open');
  assert((await page.textContent('#journey-title')) === 'm3', 'journey of m3');
  assert((await page.$$('#journey .steps li')).length >= 3, 'journey lists its events');
  await shot(page, '06-journey');
});

test('queue inspector lists contents head first', async (page) => {
  await open(page, '?preset=ttl-overflow&speed=3&autoplay=1');
  await sleep(2500);
  await pause(page);
  const names = (await page.getAttribute('#topology', 'data-nodes')).split(';').map((p) => p.split(':')[0]);
  const q = names.find((n) => /q|queue/i.test(n)) || names[2];
  await clickNode(page, q);
  assert(await page.isVisible('#inspector'), 'inspector open');
  await shot(page, '07-queue-inspector');
});

test('invalid scenario shows errors with paths and keeps the run going', async (page) => {
  await open(page, '?preset=work-queue&autoplay=1');
  await sleep(500);
  await page.click('#tab-scenario');
  const text = await page.inputValue('#scenario-editor');
  const bad = text.replace('"prefetch": 2', '"prefetch": 0');
  assert(bad !== text, 'edited the prefetch');
  await page.fill('#scenario-editor', bad);
  await page.click('#editor-apply');
  await sleep(200);
  const err = await page.textContent('#editor-errors');
  assert(err.includes('consumers[0].prefetch'), `error names the path: ${err}`);
  const t1 = await tUs(page);
  await sleep(500);
  assert((await tUs(page)) > t1, 'the simulation keeps running');
  await shot(page, '08-invalid-scenario');
  await page.fill('#scenario-editor', '{ "title": "x", "producers": [ }');
  await page.click('#editor-apply');
  await sleep(150);
  assert((await page.textContent('#editor-errors')).length > 10, 'syntax error shown');
  await page.fill('#scenario-editor', text.replace('"instances": 3', '"instances": 5'));
  await page.click('#editor-apply');
  await sleep(300);
  assert(!(await page.isVisible('#editor-errors')), 'valid scenario applies');
  assert((await page.textContent('#preset option:checked')).startsWith('Custom'), 'custom scenario selected');
});

test('nodes can be dragged and keep their place in the scenario', async (page) => {
  await open(page, '?preset=mm1');
  const box = await page.locator('#topology').boundingBox();
  const p = await nodePos(page, 'mm1-queue');
  await page.mouse.move(box.x + p.x, box.y + p.y);
  await page.mouse.down();
  for (let k = 1; k <= 6; k++) await page.mouse.move(box.x + p.x + 5 * k, box.y + p.y + 12 * k);
  await page.mouse.up();
  await sleep(300);
  const q = await nodePos(page, 'mm1-queue');
  assert(Math.abs(q.y - p.y) > 20 || Math.abs(q.x - p.x) > 10, `node moved (${JSON.stringify(p)} → ${JSON.stringify(q)})`);
  await page.click('#tab-scenario');
  assert((await page.inputValue('#scenario-editor')).includes('"layout"'), 'position saved in the scenario JSON');
  // The JSON tab widens the panel (the canvas refits): compare in that view.
  await sleep(300);
  const q2 = await nodePos(page, 'mm1-queue');
  await page.click('#restart');
  await sleep(300);
  const r = await nodePos(page, 'mm1-queue');
  assert(Math.abs(r.x - q2.x) < 2 && Math.abs(r.y - q2.y) < 2, `position kept after restart (${JSON.stringify(q2)} → ${JSON.stringify(r)})`);
  await shot(page, '16-dragged');
});

test('keyboard: space plays and pauses, period steps', async (page) => {
  await open(page, '?preset=mm1');
  await page.keyboard.press(' ');
  await sleep(600);
  assert((await page.getAttribute('#app-root', 'data-playing')) === 'true', 'space plays');
  await page.keyboard.press(' ');
  await sleep(100);
  assert((await page.getAttribute('#app-root', 'data-playing')) === 'false', 'space pauses');
  const ev = async () => Number((await page.textContent('.scrubber .events')).replace(/[^0-9]/g, ''));
  const e0 = await ev();
  await page.keyboard.press('.');
  await sleep(100);
  assert((await ev()) === e0 + 1, 'period steps one event');
});

test('dark theme', async (page) => {
  await open(page, '?preset=pipeline&theme=dark&autoplay=1&speed=3');
  await sleep(2000);
  await shot(page, '09-dark');
  await page.click('#theme');
  await sleep(300);
  assert(await page.$('.app.theme-light'), 'toggled to light');
});

test('embed mode shows the canvas and minimal controls', async (page) => {
  await open(page, '?preset=mm1&seed=7&speed=10&autoplay=1&embed=1');
  await sleep(1500);
  assert(!(await page.isVisible('.side')), 'no side panel');
  assert(!(await page.isVisible('.bottom')), 'no bottom panel');
  assert(await page.isVisible('#play'), 'play button');
  assert((await page.textContent('#speed-label')).trim() === '10×', 'speed 10×');
  assert((await total(page, 't-published')) > 0, 'autoplay ran');
  await shot(page, '10-embed');
  await page.goto(BASE + 'embed.html');
  await sleep(2500);
  await shot(page, '11-embed-example');
}, { viewport: { width: 900, height: 520 } });

test('projector size 1024×640', async (page) => {
  await open(page, '?preset=crash-recovery&autoplay=1&speed=4');
  await sleep(3500);
  const bar = await page.locator('.topbar').boundingBox();
  assert(bar.height < 60, `top bar fits on one line (${bar.height}px)`);
  await shot(page, '12-projector-1024x640');
}, { viewport: { width: 1024, height: 640 } });

test('narrow 800px collapses panels into drawers', async (page) => {
  await open(page, '?preset=topic-routing&autoplay=1&speed=3');
  assert(!(await page.isVisible('.side')), 'side collapsed');
  assert(await page.isVisible('#toggle-side'), 'drawer button');
  await sleep(1000);
  await shot(page, '13-narrow-800');
  await page.click('#toggle-side');
  await sleep(200);
  assert(await page.isVisible('.side'), 'drawer opens');
}, { viewport: { width: 800, height: 600 } });

test('a panic shows the banner with a reproduction', async (page) => {
  await page.goto(BASE + '?preset=mm1&panic_test=1');
  await page.waitForSelector('#panic-banner', { timeout: 5000 });
  assert(await page.isVisible('#copy-repro'), 'copy button');
  const repro = await page.inputValue('#repro-text');
  const parsed = JSON.parse(repro);
  assert(parsed.scenario && parsed.seed !== undefined && Array.isArray(parsed.commands), 'reproduction has scenario, seed, commands');
  await shot(page, '14-panic-banner');
}, { allowErrors: true });

test('event log stays fast with 100,000 entries', async (page) => {
  await open(page, '?preset=fanout-large&speed=1000&autoplay=1');
  const t0 = Date.now();
  await page.waitForFunction(() => Number((document.querySelector('#log-count').textContent).replace(/[^0-9]/g, '')) >= 100000, null, { timeout: 60000 });
  await pause(page);
  const count = await num(page, '#log-count');
  const start = Date.now();
  await page.$eval('#log-view', (el) => { el.scrollTop = el.scrollHeight / 2; el.dispatchEvent(new Event('scroll')); });
  await sleep(100);
  const rows = await page.$$eval('.log-row', (r) => r.length);
  assert(rows > 0 && rows < 100, `only visible rows are in the DOM (${rows} of ${count})`);
  await page.selectOption('#log-kind', 'delivered');
  await sleep(100);
  const took = Date.now() - start;
  assert(took < 3000, `scroll + filter at ${count} entries took ${took} ms`);
  await shot(page, '15-big-log');
  console.log(`    (log reached ${count} entries in ${Date.now() - t0} ms)`);
});

// ---------------------------------------------------------------- runner

test('theory presets show the closed form beside the measured mean and its interval', async (page) => {
  await open(page, '?preset=mmc&speed=1000&autoplay=1');
  assert((await page.textContent('#theory-value')).includes('208 ms'), 'the closed form');
  await page.waitForFunction(() => document.querySelector('#theory-verdict'), null, { timeout: 60000 });
  const measured = await page.textContent('#theory-measured');
  assert(/\d+ ms ± \d+ ms/.test(measured), `mean ± half-width: ${measured}`);
}, { viewport: { width: 1366, height: 768 } });

await run();
