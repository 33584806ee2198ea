// Browser tests of the log-based picture (issue 8 §3): a topic drawn as
// partition strips with record cells, every group's committed-offset cursor
// and lag lane on every strip, ownership lines, the "rebalancing" badge, idle
// members, the stream knobs and inspector panels, rebalance marks on the
// timeline, and no overlaps for the Kafka presets at 1366×768 and 1024×640.
//
// What the canvas drew is read from `#topology[data-streams]` (counts the
// renderer keeps per frame: strips, cells, cursors, lag_cells, lines,
// rebalancing, idle); boxes from `data-boxes`, as in layout-tests.mjs.
//
//   BASE_URL=http://127.0.0.1:PORT/ SHOTS=../target/screenshots node kafka-tests.mjs
//
// Screenshots go to $SHOTS/kafka/. Exits non-zero on failure.
import fs from 'node:fs';
import path from 'node:path';
import { test, run, sleep, assert, tUs, play, BASE, SHOTS as SHOTS_ROOT } from './lib.mjs';

const SHOTS = path.join(SHOTS_ROOT, 'kafka');
fs.mkdirSync(SHOTS, { recursive: true });

async function open(page, query) {
  await page.goto(BASE + query);
  await page.waitForFunction(() => {
    const c = document.querySelector('#topology');
    return c && c.width > 10 && (c.dataset.boxes || '').length > 2 && (c.dataset.streams || '').length > 2;
  });
  await settle(page);
}
async function settle(page) {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await sleep(250);
}
const streams = async (page) => JSON.parse(await page.getAttribute('#topology', 'data-streams'));
/// Poll `data-streams` until `pred` holds (or fail after `ms`).
async function waitStreams(page, pred, what, ms = 15000) {
  const t0 = Date.now();
  let s;
  while (Date.now() - t0 < ms) {
    s = await streams(page);
    if (pred(s)) return s;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}; last data-streams ${JSON.stringify(s)}`);
}
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
  await settle(page);
}

/// Click a node's header (its kind tag), clear of what it draws inside.
async function clickHeader(page, id) {
  const box = await page.locator('#topology').boundingBox();
  const b = JSON.parse(await page.getAttribute('#topology', 'data-boxes')).find((x) => x.kind === 'node' && x.id === id);
  await page.mouse.click(box.x + b.x + 14, box.y + b.y + 6);
  await settle(page);
}

/// Boxes that leave the canvas or overlap, and squeezed text (as layout-tests.mjs).
async function pictureProblems(page) {
  const r = await page.evaluate(() => {
    const c = document.querySelector('#topology');
    const cr = c.getBoundingClientRect();
    return { canvas: { w: cr.width, h: cr.height }, boxes: JSON.parse(c.dataset.boxes), squeezed: Number(c.dataset.squeezed || 0) };
  });
  const problems = [];
  const eps = 0.5;
  for (const b of r.boxes) {
    if (b.x < -eps || b.y < -eps || b.x + b.w > r.canvas.w + eps || b.y + b.h > r.canvas.h + eps) {
      problems.push(`${b.kind} "${b.id}" leaves the canvas`);
    }
  }
  for (let i = 0; i < r.boxes.length; i++) {
    for (let j = i + 1; j < r.boxes.length; j++) {
      const a = r.boxes[i], b = r.boxes[j];
      if (Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x) > eps && Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y) > eps) {
        problems.push(`${a.kind} "${a.id}" overlaps ${b.kind} "${b.id}"`);
      }
    }
  }
  if (r.squeezed > 0) problems.push(`${r.squeezed} text(s) squeezed`);
  return { problems, boxes: r.boxes };
}

const sizes = [{ width: 1366, height: 768 }, { width: 1024, height: 640 }];

for (const vp of sizes) {
  test(`12 partitions × 3 groups at ${vp.width}×${vp.height}: strips, cells, cursors, lag, lines`, async (page) => {
    await open(page, '?preset=kafka-three-groups&autoplay=1&speed=5');
    // Analytics is slower than the producer: lag shows before the join at 6 s.
    const s = await waitStreams(page, (s) => s.lag_cells > 0 && s.cells > 100, 'lag cells');
    assert(s.strips === 12, `12 strips drawn (${s.strips})`);
    assert(s.cursors === 36, `a cursor per group per strip: 12 × 3 = 36 (${s.cursors})`);
    assert(s.lines >= 12, `ownership lines drawn (${s.lines})`);
    const { problems, boxes } = await pictureProblems(page);
    assert(problems.length === 0, problems.join('; '));
    // Readable: node names at least 11 px, and the topic box uses a fair share of the canvas.
    const namePx = Number(await page.getAttribute('#topology', 'data-name-px'));
    assert(namePx >= 9.5, `node names at ${namePx} px`);
    const topic = boxes.find((b) => b.id === 'order-events');
    assert(topic && topic.h >= 230, `topic strips get height (${topic && topic.h} px)`);
    await page.screenshot({ path: path.join(SHOTS, `three-groups-${vp.width}x${vp.height}.png`) });
  }, { viewport: vp });
}

test('a scheduled join shows the rebalancing badge, drops lines, and marks the timeline', async (page) => {
  await open(page, '?preset=kafka-three-groups&autoplay=1&speed=2');
  const before = await waitStreams(page, (s) => s.lines > 0 && s.rebalancing.length === 0, 'a stable picture');
  // Analytics gets a fourth member at 6 s and pauses for 1 s.
  await waitStreams(page, (s) => s.rebalancing.includes('analytics'), 'the analytics badge', 20000);
  // Eager: each member revokes once its polled batch is done, then the lines are gone for the pause.
  const during = await waitStreams(page, (s) => s.rebalancing.includes('analytics') && s.lines <= before.lines - 12,
    "analytics' 12 lines dropped while rebalancing", 5000);
  assert(during.lines === before.lines - 12, `only analytics' lines drop (${before.lines} → ${during.lines})`);
  await page.screenshot({ path: path.join(SHOTS, 'rebalancing-badge.png') });
  await waitStreams(page, (s) => s.rebalancing.length === 0 && s.lines >= before.lines, 'the rebalance to finish', 20000);
  await page.waitForFunction(() => document.querySelectorAll('.scrubber .marker.rebalance').length >= 1, null, { timeout: 10000 });
  const title = await page.getAttribute('.scrubber .marker.rebalance', 'title');
  assert(/rebalance: analytics/.test(title), `the mark names the group (${title})`);
});

test('an event store refuses a stale append: the CONFLICTS badge and the inspector count the refusals', async (page) => {
  await open(page, '?preset=event-store-concurrency&autoplay=1&speed=5');
  const s = await waitStreams(page, (x) => x.store_badges.some((b) => /^command-handler: \d+ CONFLICTS?$/.test(b)),
    'the conflicts badge on command-handler', 20000);
  console.log(`    badges: ${s.store_badges}`);
  await clickHeader(page, 'command-handler');
  await page.waitForSelector('#group-conflicts', { timeout: 5000 });
  const n = Number(await page.textContent('#group-conflicts'));
  assert(n >= 1, `the inspector counts the conflicts (${n})`);
  assert(!(await page.$('#group-stale')), 'with the check on there is no stale-write line');
  await page.screenshot({ path: path.join(SHOTS, 'event-store-conflicts-1024x640.png') });
  const { problems } = await pictureProblems(page);
  assert(problems.length === 0, `readable: ${problems}`);
  assert(await page.isVisible('.legend [data-mark="conflicts"]'), 'the legend explains the CONFLICTS badge');
  assert(!(await page.$('.legend [data-mark="stale-writes"]')), 'no stale-write badge to explain with the check on');
  // The variants side by side: conflicts with the check, stale writes
  // without it, neither when the commands are keyed by account.
  await page.click('#compare-toggle');
  await page.waitForSelector('#lanes');
  const card = async (k, id) => Number(await page.textContent(`#lane${k}-${id} .v`));
  const t0 = Date.now();
  let c = [];
  while (Date.now() - t0 < 20000) {
    c = [await card(0, 'conflicts'), await card(1, 'stale-writes'), await card(2, 'conflicts'), await card(2, 'stale-writes')];
    if (c[0] > 0 && c[1] > 0) break;
    await sleep(200);
  }
  console.log(`    lanes: round-robin conflicts ${c[0]}, no-check stale writes ${c[1]}, keyed ${c[2]}/${c[3]}`);
  assert(c[0] > 0 && c[1] > 0 && c[2] === 0 && c[3] === 0, `conflicts, stale writes, none: ${c}`);
  assert((await card(0, 'stale-writes')) === 0 && (await card(1, 'conflicts')) === 0, 'each lane shows only its own outcome');
  await page.screenshot({ path: path.join(SHOTS, 'event-store-lanes-1024x640.png') });
}, { viewport: { width: 1024, height: 640 } });

test('the event-store check switched live: refusals stop, stale writes start, both counted', async (page) => {
  await open(page, '?preset=event-store-concurrency&autoplay=1&speed=5');
  await waitStreams(page, (x) => x.store_badges.some((b) => /^command-handler: \d+ CONFLICTS?$/.test(b)),
    'the conflicts badge on command-handler', 20000);
  await clickHeader(page, 'command-handler');
  await page.waitForSelector('#knob-expected-version', { timeout: 5000 });
  assert((await page.inputValue('#knob-expected-version')) === 'check', 'the knob shows the check on');
  await page.selectOption('#knob-expected-version', 'unchecked');
  const conflictsAtSwitch = Number(await page.textContent('#group-conflicts'));
  const s = await waitStreams(page, (x) => x.store_badges.some((b) => /^command-handler: \d+ STALE WRITES?$/.test(b)),
    'the stale-writes badge once unchecked', 20000);
  console.log(`    badges: ${s.store_badges}`);
  await page.waitForSelector('#group-stale', { timeout: 5000 });
  const stale = Number(await page.textContent('#group-stale'));
  const conflicts = Number(await page.textContent('#group-conflicts'));
  assert(stale >= 1, `stale writes counted after the switch (${stale})`);
  assert(conflicts >= 1 && conflicts <= conflictsAtSwitch + 3,
    `refusals stop with the check off (${conflictsAtSwitch} at the switch, ${conflicts} now)`);
  assert((await page.inputValue('#knob-expected-version')) === 'unchecked', 'the knob follows the engine');
  assert(await page.isVisible('.legend [data-mark="stale-writes"]'), 'the legend explains the new badge');
  await page.screenshot({ path: path.join(SHOTS, 'event-store-switched-1024x640.png') });
}, { viewport: { width: 1024, height: 640 } });

test('event-store snapshots: the inspector counts the events replayed, the lanes compare the latency', async (page) => {
  await open(page, '?preset=event-store-snapshots&autoplay=1&speed=20');
  await sleep(2000);
  await clickHeader(page, 'command-handler');
  await page.waitForSelector('#group-replayed', { timeout: 5000 });
  const replayed = await page.textContent('#group-replayed');
  const m = /^(\d+) \(([\d.]+) a load\)$/.exec(replayed);
  assert(m && Number(m[2]) > 10, `events replayed per load grow with the history: ${replayed}`);
  assert((await page.textContent('#group-snapshots')) === '0', 'no snapshots without snapshot_every');
  await page.click('#compare-toggle');
  await page.waitForSelector('#lanes');
  // Let both lanes reach 40 s or more: the history is long by then.
  await page.waitForFunction(() => [...document.querySelectorAll('.lane')].every((l) => Number(l.dataset.tUs || 0) >= 40e6), null, { timeout: 30000 });
  const ms = async (k) => {
    const t = await page.textContent(`#lane${k}-mean .v`);
    return t.endsWith(' s') ? parseFloat(t) * 1000 : parseFloat(t);
  };
  const [none, snap] = [await ms(0), await ms(1)];
  console.log(`    latency mean: no snapshots ${none} ms, a snapshot every 50 versions ${snap} ms`);
  assert(none > 2 * snap, `snapshots keep the loads short (${none} vs ${snap} ms)`);
  await page.screenshot({ path: path.join(SHOTS, 'event-store-snapshots-lanes-1024x640.png') });
}, { viewport: { width: 1024, height: 640 } });

test('the throughput chart draws records processed, not a "completed" line stuck at zero', async (page) => {
  // Kafka records stay in the log: groups process them, nothing "completes".
  await open(page, '?preset=kafka-three-groups&autoplay=1&speed=5');
  await page.waitForFunction(() => document.querySelector('#chart-throughput')?.dataset.lines, null, { timeout: 10000 });
  assert((await page.getAttribute('#chart-throughput', 'data-lines')) === 'published,processed',
    `Kafka lines: ${await page.getAttribute('#chart-throughput', 'data-lines')}`);
  // A queue topology keeps its completed line.
  await open(page, '?preset=mm1');
  await page.waitForFunction(() => document.querySelector('#chart-throughput')?.dataset.lines, null, { timeout: 10000 });
  assert((await page.getAttribute('#chart-throughput', 'data-lines')) === 'published,completed',
    `queue lines: ${await page.getAttribute('#chart-throughput', 'data-lines')}`);
});

test('more members than partitions: the extra member is idle and says so', async (page) => {
  await open(page, '?preset=kafka-group-scaling&autoplay=1&speed=10');
  const s = await waitStreams(page, (s) => s.idle >= 1 && s.rebalancing.length === 0, 'an idle member', 25000);
  assert(s.idle === 1, `exactly one idle member (${s.idle})`);
  await page.screenshot({ path: path.join(SHOTS, 'idle-member.png') });
});

test('the legend explains the stream marks, only where there are topics', async (page) => {
  await open(page, '?preset=kafka-replay');
  const marks = await page.$$eval('#legend [data-mark]', (es) => es.map((e) => e.dataset.mark));
  for (const m of ['key-cell', 'cursor', 'lag', 'owner', 'rebalancing', 'idle-member']) {
    assert(marks.includes(m), `legend explains ${m} (has ${marks.join(', ')})`);
  }
  await page.goto(BASE + '?preset=mm1');
  await page.waitForSelector('#legend [data-mark]');
  const mm1 = await page.$$eval('#legend [data-mark]', (es) => es.map((e) => e.dataset.mark));
  assert(!mm1.includes('cursor'), 'no stream marks without topics');
});

test('group inspector: members, lag per partition, knobs as logged commands', async (page) => {
  await open(page, '?preset=kafka-three-groups&autoplay=1&speed=5');
  await sleep(800);
  await page.click('#play');
  await settle(page);
  await clickNode(page, 'billing');
  assert((await page.textContent('#inspector-title')) === 'billing', 'billing selected');
  assert((await page.locator('#group-members tbody tr').count()) === 4, 'four members listed');
  assert((await page.locator('#group-partitions tbody tr').count()) === 12, 'twelve partitions listed');
  const marks = async () => page.locator('.scrubber .marker:not(.sched):not(.rebalance)').count();
  const m0 = await marks();
  // Switching the strategy starts a rebalance now (the run is paused, so the badge stays).
  await page.selectOption('#knob-assignment', 'cooperative_sticky');
  await settle(page);
  let s = await streams(page);
  assert(s.rebalancing.includes('billing'), `badge after SetAssignment (${JSON.stringify(s.rebalancing)})`);
  assert(/rebalancing/.test(await page.textContent('#group-state')), 'the inspector says rebalancing');
  await page.fill('#knob-max-poll', '5');
  await page.press('#knob-max-poll', 'Enter');
  await page.selectOption('#knob-commit', 'before');
  await settle(page);
  await page.click('#add-member');
  await settle(page);
  assert((await page.locator('#group-members tbody tr').count()) === 5, 'a fifth member joined');
  await page.click('#crash-member');
  await settle(page);
  await page.selectOption('#knob-seek', 'beginning');
  await page.click('#seek');
  await settle(page);
  assert(!(await page.isVisible('#command-error')), 'no command was refused');
  assert((await marks()) === m0 + 6, `six commands logged on the timeline (${m0} → ${await marks()})`);
  await page.screenshot({ path: path.join(SHOTS, 'group-inspector.png') });
  // Topic inspector (click the header: the strips are records): a row per
  // partition with each group's owner, committed offset and lag.
  await clickHeader(page, 'order-events');
  assert((await page.locator('#topic-partitions-table tbody tr').count()) === 12, 'twelve partition rows');
  const head = await page.textContent('#topic-partitions-table thead');
  assert(/billing/.test(head) && /analytics/.test(head) && /fraud/.test(head), `a column per group (${head})`);
  await page.fill('#knob-partitions', '14');
  await page.press('#knob-partitions', 'Enter');
  await settle(page);
  assert((await page.textContent('#topic-partitions')) === '14', 'partitions increased to 14');
  s = await streams(page);
  assert(s.strips === 14, `14 strips drawn (${s.strips})`);
  const { problems } = await pictureProblems(page);
  assert(problems.length === 0, problems.join('; '));
  await page.screenshot({ path: path.join(SHOTS, 'topic-inspector-14.png') });
}, { viewport: { width: 1366, height: 768 } });

test('a record cell opens the record: key, partition, offset, how often each group processed it', async (page) => {
  await open(page, '?preset=kafka-replay&autoplay=1&speed=5');
  // Analytics replays from the beginning at 8 s: records get processed twice by it.
  await page.waitForFunction(() => Number(document.querySelector('#app-root').dataset.tUs) > 9500000, null, { timeout: 20000 });
  await page.click('#play');
  await settle(page);
  const box = await page.locator('#topology').boundingBox();
  const t = JSON.parse(await page.getAttribute('#topology', 'data-boxes')).find((x) => x.id === 'purchases');
  // The oldest drawn offset of the first strip: left end of the cells, first strip row.
  let found = false;
  for (let dy = 0.45; dy < 0.9 && !found; dy += 0.1) {
    for (let dx = 0.12; dx < 0.3 && !found; dx += 0.02) {
      await page.mouse.click(box.x + t.x + t.w * dx, box.y + t.y + t.h * dy);
      await settle(page);
      found = await page.isVisible('#record-title');
    }
  }
  assert(found, 'a click on a cell opens the record panel');
  const key = await page.textContent('#record-key');
  assert(/^k|\d/.test(key) && key !== '(none)', `the record has a key (${key})`);
  const rows = await page.$$eval('#record-groups tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  assert(rows.length === 2 && rows[0][0] === 'billing' && rows[1][0] === 'analytics', `a row per group (${JSON.stringify(rows)})`);
  const billing = Number(rows[0][1]);
  assert(billing === 1, `billing processed it once (${JSON.stringify(rows)})`);
  await page.screenshot({ path: path.join(SHOTS, 'record.png') });
}, { viewport: { width: 1366, height: 768 } });

test('rewind replays the stream knobs: same trace hash after going back and forth', async (page) => {
  await open(page, '?preset=kafka-crash-rebalance&autoplay=1&speed=5');
  await sleep(600);
  await page.click('#play');
  await settle(page);
  await clickNode(page, 'eager');
  await page.selectOption('#knob-commit', 'auto:1000');
  await page.fill('#knob-max-poll', '3');
  await page.press('#knob-max-poll', 'Enter');
  await settle(page);
  await page.click('#play');
  await sleep(1200);
  await page.click('#play');
  await settle(page);
  const t = Number(await page.getAttribute('#app-root', 'data-t-us'));
  const seek = (ms) => page.$eval('#scrubber', (el, v) => { el.value = String(v); el.dispatchEvent(new Event('input', { bubbles: true })); }, ms);
  const state = async () => [Number(await page.getAttribute('#app-root', 'data-t-us')), await page.getAttribute('#app-root', 'data-trace-hash')];
  // A point after both knobs, inside what was played; reached once, then again after a rewind to 0.1 s.
  const x = Math.floor(t / 1000) - 200;
  await seek(x);
  await settle(page);
  const [t1, h1] = await state();
  await seek(100);
  await settle(page);
  const [t0] = await state();
  assert(t0 < t1, `rewound (${t0} < ${t1})`);
  await seek(x);
  await settle(page);
  const [t2, h2] = await state();
  assert(t1 === x * 1000 && t2 === t1, `same time (${t1}, ${t2}, want ${x * 1000})`);
  assert(h1 === h2, `same trace hash after rewind and replay (${h1} vs ${h2})`);
  const marks = await page.locator('.scrubber .marker:not(.sched):not(.rebalance)').count();
  assert(marks === 2, `both knob commands still logged (${marks})`);
});

for (const vp of sizes) {
  test(`kafka presets at ${vp.width}×${vp.height}: no overlaps, screenshots`, async (page) => {
    await open(page, '?preset=mm1');
    const names = (await page.$$eval('#preset option', (os) => os.map((o) => o.value))).filter((n) => n.startsWith('kafka-'));
    assert(names.length >= 8, `kafka presets listed (${names})`);
    const all = [];
    for (const name of names) {
      await open(page, `?preset=${name}&autoplay=1&speed=5`);
      await sleep(1500);
      const s = await streams(page);
      const { problems } = await pictureProblems(page);
      await page.screenshot({ path: path.join(SHOTS, `${name}-${vp.width}x${vp.height}.png`) });
      console.log(`    ${name.padEnd(24)} ${JSON.stringify(s)}`);
      if (s.strips < 1) problems.push('no strips drawn');
      if (s.cursors < 1) problems.push('no cursors drawn');
      for (const p of problems) all.push(`${name}: ${p}`);
    }
    assert(all.length === 0, `\n      ${all.join('\n      ')}`);
  }, { viewport: vp });
}

test('a topics-only scenario counts group lag instead of an always-zero in flight; auto_offset_reset earliest vs latest', async (page) => {
  await page.goto(BASE + '?preset=kafka-offset-reset&speed=5&autoplay=1');
  await page.waitForSelector('#t-lag');
  assert(!(await page.$('#t-inflight')), 'no in-flight counter where only logs are');
  const lagAt = async () => Number((await page.textContent('#t-lag .v')).replace(/[^0-9]/g, ''));
  const t = async () => Number(await page.getAttribute('#app-root', 'data-t-us'));
  for (let i = 0; i < 80 && (await t()) < 9.5e6; i++) await sleep(100);
  await page.click('#play');
  await settle(page);
  const lag = await lagAt();
  // At ~9.5 s welcome-emails (earliest) still owes most of its 8 s backlog; fraud-model (latest) owes ~0.
  assert(lag > 150 && lag < 600, `group lag after the join: ${lag}`);
  assert((await page.getAttribute('#t-lag', 'title')).includes('lag'), 'the counter explains itself');
  await page.screenshot({ path: path.join(SHOTS, 'offset-reset-1024x640.png') });
  // A queue scenario keeps in flight and has no lag counter.
  await page.goto(BASE + '?preset=mm1');
  await page.waitForSelector('#t-inflight');
  assert(!(await page.$('#t-lag')), 'no group lag without groups');
}, { viewport: { width: 1024, height: 640 } });

test('a leader crash under acks=1 names the acknowledged records lost on the topic; a stalled follower loses none', async (page) => {
  // acks=1: at 10 s the leaders crash and the records past the high watermark,
  // already acknowledged, are truncated.
  await open(page, '?preset=kafka-acks-leader-crash&speed=20');
  const before = await streams(page);
  assert(before.lost_labels.length === 0, `nothing lost before the crash: ${before.lost_labels}`);
  await play(page);
  const s = await waitStreams(page, (x) => x.lost_labels.some((b) => /^payments: acknowledged, then lost \d+$/.test(b)),
    'the loss label on payments', 20000);
  console.log(`    labels: ${s.lost_labels}`);
  await page.screenshot({ path: path.join(SHOTS, 'acks-leader-crash-lost-1024x640.png') });
  const { problems } = await pictureProblems(page);
  assert(problems.length === 0, `readable: ${problems}`);
  // A stalled follower shrinks the ISR but truncates nothing.
  await open(page, '?preset=kafka-isr-shrink&autoplay=1&speed=20');
  const t0 = Date.now();
  while (Date.now() - t0 < 30000 && (await tUs(page)) < 20e6) await sleep(100);
  assert((await tUs(page)) >= 20e6, 'the ISR run reaches 20 s (both stalls done)');
  const isr = await streams(page);
  assert(isr.strips === 3 && isr.lost_labels.length === 0, `no loss label for a stalled follower: ${JSON.stringify(isr)}`);
}, { viewport: { width: 1024, height: 640 } });

// ---------------------------------------------------------------- runner

await run('kafka');
