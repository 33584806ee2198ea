// Browser tests of share links, embeds, the end of a run and the loading screen
// (issue 7 §6–§7), run by e2e/run.sh after run-tests.mjs.
//
//   BASE_URL=http://127.0.0.1:PORT/ SHOTS=../target/screenshots QUEUELAB=../target/debug/queuelab node share-tests.mjs
//
// Same conventions as run-tests.mjs: a fresh page per test, console errors fail
// the test, screenshots go to $SHOTS, ONLY=substring runs matching tests.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import {
  test, run, open, ready, sleep, assert, shot, attr, tUs, hash, canvasData, num, totals, nodePos, clickNode,
  play, pause, setSpeed, seekMs, BASE, SHOTS, ONLY, browser,
} from './lib.mjs';

const CLI = process.env.QUEUELAB || path.resolve('../target/debug/queuelab');

/// A link payload built by hand: JSON → raw deflate → base64url, as src/link.rs does.
function craft(obj, version = 1) {
  const json = typeof obj === 'string' ? obj : JSON.stringify(obj);
  return `v${version}.` + zlib.deflateRawSync(Buffer.from(json)).toString('base64url');
}
function cli(args) {
  return execFileSync(CLI, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
}
const mm1 = JSON.parse(fs.readFileSync(new URL('../scenarios/mm1.json', import.meta.url), 'utf8'));

// ---------------------------------------------------------------- tests

test('a link round-trips to the same picture, totals and trace hash', async (page) => {
  await open(page, '?preset=work-queue&seed=4');
  await clickNode(page, 'workers');
  await page.click('#instances-minus'); // a knob: a logged command
  await sleep(100);
  await setSpeed(page, 5);
  await play(page);
  await sleep(1800);
  await pause(page);
  const end = await tUs(page);
  await seekMs(page, Math.round(end / 2000)); // seek back to half: the command stays in the script
  await sleep(2500); // tokens settle: the picture is a function of state
  const T = await tUs(page);
  await page.click('#copy-link');
  await sleep(200);
  const link = await page.inputValue('#link-text');
  assert(link.includes('#v1.'), `the dialog shows a link: ${link.slice(0, 80)}`);
  await page.click('#link-dialog-close');
  await sleep(700);
  assert(page.url().includes('#v1.'), `the address carries the session: ${page.url().slice(0, 80)}`);
  const before = { t: T, hash: await hash(page), totals: await totals(page), nodes: await page.getAttribute('#topology', 'data-nodes'), img: await canvasData(page) };
  await shot(page, 'share-01-before-link');

  const other = await page.context().newPage();
  await other.goto(link);
  await ready(other);
  await sleep(2500);
  const after = { t: await tUs(other), hash: await hash(other), totals: await totals(other), nodes: await other.getAttribute('#topology', 'data-nodes'), img: await canvasData(other) };
  await other.screenshot({ path: path.join(SHOTS, 'share-02-opened-link.png') });
  assert(after.t === before.t, `same time (${after.t} vs ${before.t})`);
  assert(after.hash === before.hash, `same trace hash (${after.hash} vs ${before.hash})`);
  assert(JSON.stringify(after.totals) === JSON.stringify(before.totals), `same totals ${JSON.stringify(after.totals)} vs ${JSON.stringify(before.totals)}`);
  assert(after.nodes === before.nodes, 'same node positions');
  assert((await other.textContent('#inspector-title')) === 'workers', 'the selection came with the link');
  if (after.img !== before.img) {
    fs.writeFileSync(path.join(SHOTS, 'FAILED-link-before.png'), Buffer.from(before.img.split(',')[1], 'base64'));
    fs.writeFileSync(path.join(SHOTS, 'FAILED-link-after.png'), Buffer.from(after.img.split(',')[1], 'base64'));
  }
  assert(after.img === before.img, 'same canvas picture');
  assert(!(await other.isVisible('#link-notice')), 'no error notice for a good link');
  await other.close();
});

test('the CLI replays a link copied from the app to the same trace hash', async (page) => {
  await open(page, '?preset=crash-recovery&seed=9&speed=200');
  await clickNode(page, 'careful');
  await page.click('#instances-minus');
  await sleep(100);
  await play(page);
  await page.waitForFunction(() => document.querySelector('#app-root').dataset.finished === 'true', null, { timeout: 30000 });
  const tEnd = await tUs(page);
  assert(tEnd === 30_000_000, `the run ends at the scenario's 30 s (t ${tEnd})`);
  await page.click('#copy-link');
  await sleep(200);
  const link = await page.inputValue('#link-text');
  const report = JSON.parse(cli(['run', link, '--json']));
  assert(report.trace_hash === (await hash(page)), `CLI ${report.trace_hash} vs browser ${await hash(page)} at the end`);
  // And at a time in the middle, with --until.
  await seekMs(page, 12345);
  const mid = JSON.parse(cli(['run', link, '--json', '--until', '12345ms']));
  assert(mid.trace_hash === (await hash(page)), `CLI ${mid.trace_hash} vs browser ${await hash(page)} at 12.345 s`);
});

const hostile = [
  ['truncated', (good) => good.slice(0, Math.floor(good.length * 0.6)), /truncated/],
  ['oversized', () => 'v1.' + 'A'.repeat(70 * 1024), /bytes long/],
  ['wrong version', (good) => good.replace('v1.', 'v7.'), /version 7/],
  ['invalid scenario', () => craft({ scenario: { ...mm1, consumers: [{ ...mm1.consumers[0], prefetch: 0 }] }, seed: 1 }), /scenario\.consumers\[0\]\.prefetch/],
  ['not JSON', () => craft('<script>alert(1)</script>'), /content is not valid/],
  ['hostile command log', () => craft({ scenario: mm1, seed: 1, commands: [{ at_us: 1_000_000, after_events: 1e18, command: { do: 'pause_producer', producer: 'arrivals' } }] }), /command 0 was applied after/],
  ['endless time', () => craft({ scenario: mm1, seed: 1, time_us: 1e15 }), /more than 5000000 engine events/],
];
test('hostile links open with a message and the default preset', async (page) => {
  const good = craft({ scenario: mm1, seed: 3 });
  for (const [kind, make, why] of hostile) {
    const started = Date.now();
    await page.goto(BASE + '#' + make(good));
    await ready(page);
    const took = Date.now() - started;
    assert(await page.isVisible('#link-notice'), `${kind}: the message shows`);
    const text = await page.textContent('#link-notice-text');
    assert(why.test(text), `${kind}: the message says why: ${text}`);
    assert(text.includes('default scenario'), `${kind}: says what is shown instead`);
    assert((await page.inputValue('#preset')) === 'work-queue', `${kind}: the default preset is loaded`);
    assert(took < 15000, `${kind}: opened in ${took} ms`);
    if (kind === 'truncated') await shot(page, 'share-03-hostile-link-1366');
    await page.click('#link-notice-close');
    assert(!(await page.isVisible('#link-notice')), `${kind}: the message can be closed`);
    await page.goto('about:blank');
  }
  await page.setViewportSize({ width: 1024, height: 640 });
  await page.goto(BASE + '#' + hostile[3][1](good));
  await ready(page);
  await shot(page, 'share-04-hostile-link-1024');
}, { viewport: { width: 1366, height: 768 } });

test('script text in a title is shown as text, never run', async (page) => {
  const title = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
  const desc = '<b onmouseover="window.__xss=3">bold?</b>';
  await page.goto(BASE + '#' + craft({ scenario: { ...mm1, title, description: desc }, seed: 3 }));
  await ready(page);
  await sleep(300);
  assert(!(await page.isVisible('#link-notice')), 'a hostile title is still a valid link');
  assert((await page.textContent('#preset option:checked')).includes(title), 'the title shows as text in the picker');
  assert((await page.textContent('.inspect-empty h2')).includes(title), 'the title shows as text in the panel');
  assert((await page.$$('#app-root img, #app-root script, #app-root b[onmouseover]')).length === 0, 'no element made from the link');
  assert((await page.evaluate(() => window.__xss)) === undefined, 'no script ran');
  await shot(page, 'share-05-script-title');
});

test('a run ends at the scenario duration with a summary, and extends', async (page) => {
  await open(page, '?preset=crash-recovery&speed=200&autoplay=1');
  await page.waitForFunction(() => document.querySelector('#app-root').dataset.finished === 'true', null, { timeout: 30000 });
  await sleep(300);
  assert((await tUs(page)) === 30_000_000, `stopped at 30 s (${await tUs(page)})`);
  assert((await attr(page, 'data-playing')) === 'false', 'not playing');
  assert(await page.isVisible('#run-summary'), 'summary shown');
  assert((await page.textContent('#finished-title')).includes('30.0 s'), 'says when');
  const lat = await page.textContent('#summary-latency');
  assert(/mean .* p50 .* p99 /.test(lat), `latency mean/p50/p99: ${lat}`);
  const published = await num(page, '#run-summary .cell .v');
  assert(published > 0, 'published total in the summary');
  await sleep(500);
  assert((await tUs(page)) === 30_000_000, 'time stays at the end');
  await shot(page, 'share-06-finished-1366');
  await page.setViewportSize({ width: 1024, height: 640 });
  await sleep(400);
  await shot(page, 'share-07-finished-1024');
  await page.click('#extend');
  await page.waitForFunction(() => Number(document.querySelector('#app-root').dataset.tUs) > 30_000_000, null, { timeout: 10000 });
  await page.waitForFunction(() => document.querySelector('#app-root').dataset.finished === 'true', null, { timeout: 30000 });
  assert((await tUs(page)) === 60_000_000, `extended by the duration: ends at 60 s (${await tUs(page)})`);
  // Seeking back un-finishes the run; playing runs to the (extended) end again.
  await seekMs(page, 10_000);
  assert((await attr(page, 'data-finished')) === 'false', 'not finished after seeking back');
  assert(!(await page.isVisible('#run-summary')), 'no summary before the end');
}, { viewport: { width: 1366, height: 768 } });

/** Poll `f` every 100 ms until it holds or `ms` pass; its last value. (A
 * loaded CI machine may take longer than a fixed sleep to answer.) */
async function until(f, ms = 5000) {
  const end = Date.now() + ms;
  let v = await f();
  while (!v && Date.now() < end) { await sleep(100); v = await f(); }
  return v;
}

test('embed API driven from www/embed.html', async (page) => {
  await page.goto(BASE + 'embed.html');
  await page.waitForFunction(() => window.queuelabEvents && window.queuelabEvents.a.some((e) => e.queuelab === 'ready'), null, { timeout: 20000 });
  const A = page.frame({ url: /preset=mm1/ });
  const evs = (w) => page.evaluate((w) => window.queuelabEvents[w], w);
  const last = async (w, kind) => (await evs(w)).filter((e) => e.queuelab === kind).pop();
  await sleep(1000);
  assert((await last('a', 'ready')).title.includes('M/M/1'), 'ready names the scenario');
  assert((await last('a', 'time')).t_us > 0, 'time events while autoplaying');
  assert((await last('a', 'totals')).totals.published > 0, 'totals events');
  assert((await last('a', 'height')).height > 200, 'content height for auto-sizing');
  const demoA = page.locator('[data-demo="a"]');
  await demoA.getByText('❚❚ Pause').click();
  assert(await until(async () => (await last('a', 'time')).playing === false), 'pause reported');
  const tPaused = (await last('a', 'time')).t_us;
  await sleep(600);
  assert(Number(await A.getAttribute('#app-root', 'data-t-us')) === tPaused, 'pause holds the frame\'s time');
  await demoA.getByText('Seek 30 s').click();
  assert(await until(async () => Number(await A.getAttribute('#app-root', 'data-t-us')) === 30_000_000), 'seek to 30 s');
  assert(await until(async () => (await last('a', 'time')).t_us === 30_000_000), 'time event after the seek');
  await demoA.getByText('1×').click();
  await sleep(200);
  assert((await A.textContent('#speed-label')).trim() === '1×', 'speed set');
  await demoA.getByText('Arrivals → 9.5/s').click();
  await sleep(300);
  assert((await A.textContent('#app-root')).length > 0 && (await evs('a')).every((e) => e.queuelab !== 'error'), 'command applied without error');
  const script = await A.evaluate(() => location.hash);
  assert(script.startsWith('#v1.'), 'the frame\'s address carries the command');
  await demoA.getByText('▶ Play').click();
  assert(await until(async () => { const t = await last('a', 'time'); return t.playing === true && t.t_us > 30_000_000; }), 'play resumes');
  await shot(page, 'share-08-embed-page-1366');
  // Bad input gets an error event; unknown messages from elsewhere are ignored.
  await page.evaluate(() => document.getElementById('frame-a').contentWindow.postMessage({ queuelab: 'fly' }, location.origin));
  await sleep(300);
  assert(/unknown command/.test((await last('a', 'error')).message), 'an unknown command is answered with an error event');
  // Load: a preset, then frame B loads a link copied from frame A.
  await demoA.getByText('Load: three servers').click();
  await sleep(600);
  assert((await last('a', 'ready')) && (await A.textContent('.embed-title')).includes('M/M/c'), `load preset: ${await A.textContent('.embed-title')}`);
  const B = page.frame({ url: /crash-recovery/ });
  await demoA.getByText('❚❚ Pause').click();
  await sleep(700); // the frame's address is rewritten 0.4 s after the last change
  const link = await A.evaluate(() => location.href);
  await page.locator('#frame-b').scrollIntoViewIfNeeded();
  await page.fill('#link-b', link);
  await page.click('#load-link-b');
  await sleep(800);
  assert((await B.textContent('.embed-title')).includes('M/M/c'), 'frame B loaded frame A\'s link');
  assert((await B.getAttribute('#app-root', 'data-t-us')) === (await A.getAttribute('#app-root', 'data-t-us')), 'same time');
  assert((await B.getAttribute('#app-root', 'data-trace-hash')) === (await A.getAttribute('#app-root', 'data-trace-hash')), 'same trace hash');
  // Finished: run B's own scenario to its end.
  await page.locator('[data-demo="b"]').getByText('▶ Play').click();
  await page.evaluate(() => document.getElementById('frame-b').contentWindow.postMessage({ queuelab: 'load', preset: 'crash-recovery' }, location.origin));
  await sleep(500);
  await page.locator('[data-demo="b"]').getByText('Run to the end').click();
  await page.waitForFunction(() => window.queuelabEvents.b.some((e) => e.queuelab === 'finished'), null, { timeout: 20000 });
  const fin = await last('b', 'finished');
  assert(fin.t_us === 30_000_000 && fin.totals.published > 0 && fin.latency_us.p99 > 0 && fin.trace_hash, `finished event: ${JSON.stringify(fin).slice(0, 200)}`);
  assert((await page.textContent('#readout-b')).includes('finished'), 'the host page shows it');
  await shot(page, 'share-09-embed-page-finished');
  await page.setViewportSize({ width: 1024, height: 640 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await sleep(600);
  await shot(page, 'share-10-embed-page-1024');
}, { viewport: { width: 1366, height: 768 } });

test('an embedded frame pauses off screen and resumes on return', async (page) => {
  await page.goto(BASE + 'embed.html');
  await page.waitForFunction(() => window.queuelabEvents && window.queuelabEvents.a.some((e) => e.queuelab === 'ready'), null, { timeout: 20000 });
  const A = page.frame({ url: /preset=mm1/ });
  const t = async () => Number(await A.getAttribute('#app-root', 'data-t-us'));
  await sleep(800);
  const t0 = await t();
  await sleep(500);
  assert((await t()) > t0, 'the visible frame plays');
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await sleep(600);
  const t1 = await t();
  assert((await A.getAttribute('#app-root', 'data-playing')) === 'false', 'off screen: paused');
  await sleep(1000);
  assert((await t()) === t1, `off screen: simulated time stands still (${t1} → ${await t()})`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await sleep(800);
  assert((await A.getAttribute('#app-root', 'data-playing')) === 'true', 'back on screen: playing');
  assert((await t()) > t1, 'back on screen: time moves again');
  // A pause the host asked for is not undone by scrolling.
  await page.locator('[data-demo="a"]').getByText('❚❚ Pause').click();
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await sleep(400);
  await page.evaluate(() => window.scrollTo(0, 0));
  await sleep(500);
  assert((await A.getAttribute('#app-root', 'data-playing')) === 'false', 'a deliberate pause stays');
});

test('the embed frame accepts any link', async (page) => {
  const link = craft({ scenario: { ...mm1, title: 'Shared M/M/1' }, seed: 11, time_us: 2_000_000, view: 'speed=5' });
  await page.goto(BASE + '?embed=1&autoplay=1#' + link);
  await ready(page);
  assert((await page.textContent('.embed-title')) === 'Shared M/M/1', 'the link\'s scenario');
  assert((await page.textContent('#speed-label')).trim() === '5×', 'the link\'s speed');
  await sleep(500);
  assert((await tUs(page)) > 2_000_000, 'autoplay from the link\'s time');
});

test('the loading screen shows progress while the wasm downloads', async (page) => {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 40, downloadThroughput: 300 * 1024, uploadThroughput: 100 * 1024 });
  await page.goto(BASE + '?preset=mm1', { waitUntil: 'commit' });
  await page.waitForSelector('#loading');
  await page.waitForFunction(() => /MB/.test(document.getElementById('loading-msg')?.textContent || ''), null, { timeout: 20000 });
  const msg = await page.textContent('#loading-msg');
  assert(/Downloading the simulator… [0-9.]+ of [0-9.]+ MB \(\d+%\)/.test(msg), `progress text: ${msg}`);
  await shot(page, 'share-11-loading-1366');
  await page.setViewportSize({ width: 1024, height: 640 });
  await sleep(200);
  await shot(page, 'share-12-loading-1024');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.waitForSelector('#topology', { timeout: 60000 });
  await page.waitForFunction(() => !document.getElementById('loading'), null, { timeout: 10000 });
}, { viewport: { width: 1366, height: 768 } });

// ---------------------------------------------------------------- runner

await run('share',
  (context) => context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(BASE).origin }),
  (url) => url.endsWith('/x'));
