// End-to-end tests of following one message: "Publish one" on a producer with a
// chosen routing key and key, logged as a command and replayed by rewind.
//
//   BASE_URL=http://127.0.0.1:PORT/ SHOTS=../target/screenshots node follow-tests.mjs
//
// Same conventions as run-tests.mjs (fresh page per test, console errors fail
// the test, screenshots to $SHOTS); the helpers come from lib.mjs.
import {
  test, run, open, sleep, assert, shot, num, total, tUs, canvasData, nodePos, clickNode, play, pause,
  setSpeed, seekMs, totals, browser, BASE, SHOTS, ONLY, attr, hash, ready, unfoldCharts,
} from './lib.mjs';

// ---------------------------------------------------------------- tests

async function commandRows(page) {
  await page.selectOption('#log-kind', 'command_applied');
  await sleep(150);
  return page.$$eval('.log-row', (rs) => rs.map((r) => r.textContent));
}

for (const viewport of [{ width: 1366, height: 768 }, { width: 1024, height: 640 }]) {
  test(`publish one with a key on topic-routing (${viewport.width}×${viewport.height})`, async (page) => {
    await open(page, '?preset=topic-routing');
    await unfoldCharts(page);
    await pause(page);
    await clickNode(page, 'loggers');
    await page.fill('#one-routing-key', 'kern.critical');
    await page.fill('#one-key', 'order-7');
    await page.fill('#one-headers', 'tenant=acme');
    await page.click('#publish-one');
    await sleep(200);
    const rows = await commandRows(page);
    assert(rows.some((r) => r.includes('publish one') && r.includes('kern.critical') && r.includes('order-7')),
      `publish-one command in the event log: ${rows.join(' | ')}`);
    await shot(page, `follow-publish-one-${viewport.width}x${viewport.height}`);
    // Rewind and come back: the command is replayed, still logged once.
    const T = await tUs(page);
    await seekMs(page, 0);
    await seekMs(page, T / 1000);
    const again = await commandRows(page);
    assert(again.filter((r) => r.includes('publish one')).length === 1, `replayed once: ${again.join(' | ')}`);
  }, { viewport });
}

test('publish one refuses an over-long key with a message', async (page) => {
  await open(page, '?preset=topic-routing');
  await pause(page);
  await clickNode(page, 'loggers');
  await page.$eval('#one-key', (el) => { el.removeAttribute('maxlength'); });
  await page.fill('#one-key', 'k'.repeat(256));
  await page.click('#publish-one');
  await sleep(200);
  const rows = await commandRows(page);
  assert(!rows.some((r) => r.includes('publish one')), 'refused commands are not logged');
  const body = await page.textContent('body');
  assert(/255 bytes/.test(body), 'the error names the 255-byte limit');
});

test('speed label shows the effective speed when throttled (fanout-large at 1000×)', async (page) => {
  await open(page, '?preset=fanout-large');
  await setSpeed(page, 1000);
  await play(page);
  await page.waitForSelector('#throttled', { timeout: 10000 });
  await sleep(1500);
  const label = await page.textContent('#speed-label');
  const m = label.match(/^1000× → ([0-9.]+)×$/);
  assert(m, `label shows chosen → effective speed: ${label}`);
  assert(Number(m[1]) > 0 && Number(m[1]) < 1000, `effective speed below the chosen one: ${label}`);
  await pause(page);
  assert(!(await page.textContent('#speed-label')).includes('→'), 'paused: only the chosen speed');
});

test('slow motion reaches 0.05×', async (page) => {
  await open(page, '?preset=work-queue');
  await setSpeed(page, 0.01);
  assert((await page.textContent('#speed-label')) === '0.05×', 'the slider floor is 0.05×');
});

test('totals show fan-out copies apart from publishes (pubsub-fanout)', async (page) => {
  await open(page, '?preset=pubsub-fanout');
  await play(page);
  await sleep(2000);
  await pause(page);
  const published = await total(page, 't-published');
  const copies = await total(page, 't-copies');
  assert(published > 5, `some publishes (${published})`);
  // Three queues bound: every publish routed makes two extra copies.
  assert(copies >= 2 * (published - 3) && copies <= 2 * published, `copies ${copies} ≈ 2 × published ${published}`);
  assert(!(await page.$('#t-parked')), 'no dead-letter queue, no parked count');
});

test('dead letters parked in a DLQ are not counted in flight (ttl-overflow)', async (page) => {
  await open(page, '?preset=ttl-overflow');
  await setSpeed(page, 10);
  await play(page);
  await sleep(3000);
  await pause(page);
  assert(await page.$('#t-parked'), 'the parked count is shown');
  const parked = await total(page, 't-parked');
  const inflight = await total(page, 't-inflight');
  assert(parked > 0, `dead letters parked in audit (${parked}), in flight ${inflight}`);
  await shot(page, 'follow-totals-ttl-overflow');
});

for (const viewport of [{ width: 1366, height: 768 }, { width: 1024, height: 640 }]) {
  test(`follow a published-one message hop by hop with Step (${viewport.width}×${viewport.height})`, async (page) => {
    await open(page, '?preset=topic-routing');
    await unfoldCharts(page);
    await pause(page);
    await clickNode(page, 'loggers');
    await page.fill('#one-routing-key', 'kern.critical');
    await page.fill('#one-key', 'order-7');
    await page.click('#publish-one');
    await sleep(200);
    // Select it: the newest "published" line in the log is the one just published.
    await page.selectOption('#log-kind', 'published');
    await sleep(150);
    await page.locator('.log-row').last().click();
    await sleep(150);
    await page.selectOption('#log-kind', '');
    await page.waitForSelector('#journey');
    const id = (await page.textContent('#journey-title')).trim();
    const fates = [await page.textContent('#journey-fate')];
    for (let i = 0; i < 8 && !fates[fates.length - 1].includes('processed'); i++) {
      await page.click('#step');
      await sleep(150);
      // Each Step ends on the engine event that moved the followed message:
      // its newest (highlighted) log line has the time of the log's last line.
      const times = await page.$$eval('.log-row', (rs) => rs.map((r) => [r.classList.contains('sel'), r.textContent.split(' ')[0]]));
      const sel = times.filter(([s]) => s);
      assert(sel.length > 0 && sel[sel.length - 1][1] === times[times.length - 1][1],
        `step ${i} ends on a hop of ${id}: ${JSON.stringify(times.slice(-4))}`);
      fates.push(await page.textContent('#journey-fate'));
      if (i === 0) await shot(page, `follow-hop-${viewport.width}x${viewport.height}`);
    }
    assert(fates.some((f) => f.includes('waiting in a queue') || f.includes('acked')), `it waited in its queue: ${fates.join(' → ')}`);
    assert(fates[fates.length - 1].includes('processed'), `followed to its consumer: ${fates.join(' → ')}`);
    const journey = await page.textContent('#journey');
    assert(/pager|kernel-watch/.test(journey), `journey names the consumer: ${journey}`);
    assert(/alerts|kernel/.test(journey), `journey names the queue: ${journey}`);
    assert((await page.textContent('#journey-title')).trim() === id, 'still following the same message');
  }, { viewport });
}

// ---------------------------------------------------------------- runner

await run();
