// Browser tests of delivery guarantees in the app (issue 9): the ledger
// strip and its guarantee dial, fault controls at protocol points that
// change the ledger live, and variants side by side (one lane per
// guarantee, one clock) readable at projector sizes.
//
// What the app shows is read from the DOM: `#ledger[data-lost|duplicated|exactly|guarantee]`
// for the main strip, `#lane-K[data-name|lost|duplicated|exactly|t-us]` for lanes.
//
//   BASE_URL=http://127.0.0.1:PORT/ SHOTS=../target/screenshots node guarantee-tests.mjs
//
// Screenshots go to $SHOTS/guarantees/. Exits non-zero on failure.
import fs from 'node:fs';
import path from 'node:path';
import {
  test, run, sleep, assert, open, settle, attr, tUs, clickNode, play, pause, setSpeed, unfoldCharts, SHOTS as SHOTS_ROOT,
} from './lib.mjs';

const SHOTS = path.join(SHOTS_ROOT, 'guarantees');
fs.mkdirSync(SHOTS, { recursive: true });

/** Poll `fn` until `pred` holds on its value (or fail after `ms`). */
async function until(fn, pred, what, ms = 20000) {
  const t0 = Date.now();
  let v;
  while (Date.now() - t0 < ms) {
    v = await fn();
    if (pred(v)) return v;
    await sleep(150);
  }
  throw new Error(`timed out waiting for ${what}; last ${JSON.stringify(v)}`);
}

/** Every lane's name, time and ledger, from its data attributes. */
/// Every line of the list at `sel` is wholly inside its box or wholly
/// scrolled out of it: none shows cut in half.
async function wholeLines(page, sel) {
  const cut = await page.$eval(sel, (ul) => {
    const box = ul.getBoundingClientRect();
    return [...ul.children].map((li) => li.getBoundingClientRect())
      .filter((r) => r.top < box.bottom - 0.5 && r.bottom > box.bottom + 0.5)
      .map((r) => `line ${r.top.toFixed(1)}–${r.bottom.toFixed(1)} in a box ending at ${box.bottom.toFixed(1)}`);
  });
  assert(cut.length === 0, `${sel}: a line shows cut in half: ${cut}`);
}

const lanes = (page) => page.$$eval('.lane', (ls) => ls.map((l) => ({
  name: l.dataset.name, g: l.dataset.guarantee, t: Number(l.dataset.tUs),
  lost: Number(l.dataset.lost), dup: Number(l.dataset.duplicated), exactly: Number(l.dataset.exactly),
})));
const ledger = (page) => page.$eval('#ledger', (l) => ({
  g: l.dataset.guarantee, lost: Number(l.dataset.lost), dup: Number(l.dataset.duplicated), exactly: Number(l.dataset.exactly),
}));

/**
 * Readability of the lane columns: every text at least 12 px, nothing
 * overlapping another lane or cut by its lane or the window, each drawing
 * with room. Returns the problems found.
 */
async function laneProblems(page) {
  return page.evaluate(() => {
    const problems = [];
    const vw = window.innerWidth, vh = window.innerHeight;
    const ls = [...document.querySelectorAll('.lane')];
    const rects = ls.map((l) => l.getBoundingClientRect());
    rects.forEach((r, i) => {
      if (r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5) problems.push(`lane ${i} leaves the window`);
      rects.forEach((q, j) => {
        if (j > i && Math.min(r.right, q.right) - Math.max(r.left, q.left) > 0.5 && Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top) > 0.5) {
          problems.push(`lane ${i} overlaps lane ${j}`);
        }
      });
    });
    ls.forEach((l, i) => {
      const lr = rects[i];
      const walk = document.createTreeWalker(l, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        if (!n.textContent.trim()) continue;
        const el = n.parentElement;
        const px = parseFloat(getComputedStyle(el).fontSize);
        if (px < 12) problems.push(`lane ${i}: "${n.textContent.trim()}" at ${px} px`);
        const range = document.createRange();
        range.selectNodeContents(n);
        for (const r of range.getClientRects()) {
          if (r.left < lr.left - 0.5 || r.right > lr.right + 0.5 || r.top < lr.top - 0.5 || r.bottom > lr.bottom + 0.5) {
            problems.push(`lane ${i}: "${n.textContent.trim()}" is cut by its lane`);
          }
        }
        // A text cut by its own box (overflow hidden, ellipsis).
        if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflow !== 'visible') problems.push(`lane ${i}: "${n.textContent.trim()}" overflows`);
      }
      const why = l.querySelector('.lane-why');
      if (why && why.scrollHeight > why.clientHeight + 1) problems.push(`lane ${i}: its explanation is cut`);
      const c = l.querySelector('canvas');
      const cr = c.getBoundingClientRect();
      if (cr.height < 60 || cr.width < 120) problems.push(`lane ${i}: drawing only ${Math.round(cr.width)}×${Math.round(cr.height)}`);
      // The drawing sits inside its lane (it once spilled over the legend).
      if (cr.bottom > lr.bottom + 0.5 || cr.top < lr.top - 0.5) problems.push(`lane ${i}: the drawing leaves its lane (${Math.round(cr.top)}–${Math.round(cr.bottom)} of ${Math.round(lr.top)}–${Math.round(lr.bottom)})`);
    });
    return problems;
  });
}

const sizes = [{ width: 1366, height: 768 }, { width: 1024, height: 640 }];
for (const vp of sizes) {
  test(`guarantee-matrix side by side at ${vp.width}×${vp.height}: three lanes, lost vs duplicated`, async (page) => {
    await open(page, '?preset=guarantee-matrix');
    assert(await page.isVisible('#ledger'), 'the ledger strip shows on a guarantee scenario');
    await page.click('#compare-toggle');
    await page.waitForSelector('#lanes');
    let ls = await lanes(page);
    assert(ls.length === 3, `three lanes (${ls.length})`);
    assert(ls.map((l) => l.name).join(',') === 'at-most-once,at-least-once,exactly-once', `lane names ${ls.map((l) => l.name)}`);
    assert(ls.map((l) => l.g).join(',') === 'at_most_once,at_least_once,exactly_once', `lane guarantees ${ls.map((l) => l.g)}`);
    await setSpeed(page, 20);
    await play(page);
    // 20× for ~2 s of wall time: well past 20 s simulated.
    ls = await until(() => lanes(page), (ls) => ls.every((l) => l.t >= 20e6) && ls[0].lost > 0 && ls[1].dup > 0, 'lost and duplicated in the lanes', 30000);
    await pause(page);
    await settle(page);
    ls = await lanes(page);
    const t = await tUs(page);
    assert(ls.every((l) => l.t === t), `the lanes follow the one clock (${t}: ${ls.map((l) => l.t)})`);
    const [most, least, exactly] = ls;
    assert(most.lost > 0 && most.dup === 0, `at-most-once: lost ${most.lost} > 0, duplicated ${most.dup} = 0`);
    assert(least.lost === 0 && least.dup > 0, `at-least-once: lost ${least.lost} = 0, duplicated ${least.dup} > 0`);
    assert(exactly.lost === 0 && exactly.dup === 0 && exactly.exactly > 0, `exactly-once: lost ${exactly.lost}, duplicated ${exactly.dup}, exactly ${exactly.exactly}`);
    const problems = await laneProblems(page);
    assert(problems.length === 0, problems.join('; '));
    console.log(`    ${vp.width}×${vp.height} at ${(t / 1e6).toFixed(1)} s: ${ls.map((l) => `${l.name} lost ${l.lost} dup ${l.dup} once ${l.exactly}`).join(' | ')}`);
    await page.screenshot({ path: path.join(SHOTS, `matrix-${vp.width}x${vp.height}.png`) });
    // Seeking back rebuilds the lanes at the earlier time.
    await page.$eval('#scrubber', (el) => { el.value = '5000'; el.dispatchEvent(new Event('input', { bubbles: true })); });
    await settle(page);
    const back = await lanes(page);
    assert(back.every((l) => l.t === 5e6), `lanes at 5 s after the seek (${back.map((l) => l.t)})`);
    assert(back[1].dup <= least.dup && back[0].lost <= most.lost, 'fewer by 5 s than by the end');
    // Presenter mode keeps the lanes, larger.
    await page.keyboard.press('p');
    await settle(page);
    const pp = await laneProblems(page);
    assert(pp.length === 0, 'presenter: ' + pp.join('; '));
    await page.screenshot({ path: path.join(SHOTS, `matrix-${vp.width}x${vp.height}-presenter.png`) });
    await page.keyboard.press('Escape');
    await page.click('#compare-toggle');
    await settle(page);
    assert(!(await page.$('#lanes')), 'compare off: the lanes go');
    assert(await page.isVisible('#topology'), 'compare off: the picture is back');
  }, { viewport: vp });
}

test('every preset with variants: lanes readable at 1024×640 after a few seconds', async (page) => {
  await open(page, '?preset=mm1');
  const names = await page.$$eval('#preset option', (os) => os.map((o) => o.value).filter(Boolean));
  const all = [];
  let compared = 0;
  for (const name of names) {
    await open(page, `?preset=${name}&speed=20`);
    if (!(await page.$('#compare-toggle'))) continue;
    compared++;
    await page.click('#compare-toggle');
    await page.waitForSelector('#lanes');
    await play(page);
    await sleep(1200);
    await pause(page);
    await settle(page);
    const ls = await lanes(page);
    const t = await tUs(page);
    if (!ls.every((l) => l.t === t)) all.push(`${name}: lanes not at the clock (${t}: ${ls.map((l) => l.t)})`);
    for (const p of await laneProblems(page)) all.push(`${name}: ${p}`);
    console.log(`    ${name.padEnd(18)} ${ls.length} lanes at ${(t / 1e6).toFixed(1)} s: ${ls.map((l) => `${l.name} lost ${l.lost} dup ${l.dup}`).join(' | ')}`);
    await page.screenshot({ path: path.join(SHOTS, `lanes-${name}-1024x640.png`) });
  }
  assert(compared >= 4, `presets with variants compared (${compared})`);
  assert(all.length === 0, `\n      ${all.join('\n      ')}`);
}, { viewport: { width: 1024, height: 640 } });

for (const size of sizes) {
  test(`lanes that differ only in an alert rule lead with it: state, pages, time firing (${size.width}×${size.height})`, async (page) => {
    await open(page, '?preset=error-rate-alert&speed=20');
    await page.click('#compare-toggle');
    await page.waitForSelector('#lanes');
    await play(page);
    for (let i = 0; i < 80 && (await tUs(page)) < 33e6; i++) await sleep(250);
    await pause(page);
    // Back to 32 s exactly (the pause lands a few seconds on): every lane is rebuilt to it.
    await page.$eval('#scrubber', (el) => { el.value = '32000'; el.dispatchEvent(new Event('input', { bubbles: true })); });
    await settle(page);
    for (let i = 0; i < 40 && (await tUs(page)) !== 32e6; i++) await sleep(100);
    const lane = (k) => page.evaluate((k) => ({
      state: document.querySelector(`#lane${k}-alert-state`)?.dataset.state,
      fired: Number(document.querySelector(`#lane${k}-alert-fired .v`)?.textContent),
      line: document.querySelector(`#lane${k}-stats`)?.textContent || '',
      perf: !!document.querySelector(`#lane${k}-perf`),
    }), k);
    const ls = [await lane(0), await lane(1), await lane(2), await lane(3)];
    console.log(`    ${ls.map((l) => `${l.state} ×${l.fired}: ${l.line}`).join('\n    ')}`);
    assert(ls.every((l) => l.state && !l.perf), `alert cards in every lane, not the (identical) performance ones: ${JSON.stringify(ls)}`);
    assert(ls[0].state === 'firing' && ls[1].state === 'inactive', 'the 10 s window still fires at 32 s, the 2 s one has resolved');
    assert(ls[2].fired >= 3 && ls[3].fired === 1 && ls[3].state === 'firing', `2% flaps; keep_firing_for pages once and holds: ${ls[2].fired} vs ${ls[3].fired}`);
    assert(ls[3].line.startsWith('payment-errors: error rate > 2% over 2s, keep firing for 5s'), `the lane names its rule: ${ls[3].line}`);
    // "FIRING" fits its card (it was cut at 1366 px with the side panel open).
    const cut = await page.$$eval('.lc.state', (cs) => cs.filter((c) => c.querySelector('.v').scrollWidth > c.clientWidth).length);
    assert(cut === 0, `${cut} state cards cut`);
    const problems = await laneProblems(page);
    assert(problems.length === 0, problems.join('; '));
    await page.screenshot({ path: path.join(SHOTS, `lanes-alert-${size.width}x${size.height}.png`) });
  }, { viewport: size });
}

test('a scenario whose lanes draw different pictures says which lane the picture is', async (page) => {
  await open(page, '?preset=redis-pubsub-vs-streams');
  const note = await page.textContent('#variants-hint');
  assert(note.includes('2 variants (pubsub, streams)') && note.includes('the pubsub lane'), `the note names the lanes and the one shown: ${note}`);
  await page.click('#variants-hint-compare');
  await page.waitForSelector('#lanes');
  assert(!(await page.$('#variants-hint')), 'no note while comparing');
  // Where the variants only turn knobs, the Compare button is enough.
  await open(page, '?preset=mm1');
  assert(await page.$('#compare-toggle'), 'mm1 has variants');
  assert(!(await page.$('#variants-hint')), 'no note on mm1');
  await open(page, '?preset=broker-comparison');
  await page.click('#variants-hint .x');
  assert(!(await page.$('#variants-hint')), 'the note closes');
}, { viewport: { width: 1024, height: 640 } });

test('kafka lanes show the log ledger: acks=1 loses acknowledged records, acks=all does not', async (page) => {
  await open(page, '?preset=kafka-acks-leader-crash&speed=20');
  await page.click('#compare-toggle');
  await page.waitForSelector('#lanes');
  // Run past the 10 s leader crash.
  await play(page);
  for (let i = 0; i < 60 && (await tUs(page)) < 12e6; i++) await sleep(250);
  await pause(page);
  await settle(page);
  const text = async (k) => (await page.textContent(`#lane${k}-streams`)) || '';
  const [one, all, unclean] = [await text(0), await text(1), await text(2)];
  console.log(`    acks-1: ${one}\n    acks-all: ${all}\n    unclean: ${unclean}`);
  assert(/acknowledged, then lost \d+/.test(one), `acks=1 lane names acknowledged records lost: ${one}`);
  assert(!/acknowledged, then lost/.test(all) && /resent \d+/.test(all), `acks=all lane resends and loses nothing: ${all}`);
  assert(/acknowledged, then lost \d+/.test(unclean), `the unclean-election lane loses acknowledged records: ${unclean}`);
  await page.screenshot({ path: path.join(SHOTS, 'lanes-kafka-acks-1024x640.png') });
}, { viewport: { width: 1024, height: 640 } });

test('lanes lead with what the variants differ in: latency, requests, doubled outputs', async (page) => {
  // A number card's value: "942 ms" -> 942, "1.25 s" -> 1250 (ms), "156" -> 156.
  const card = async (id) => {
    const v = (await page.textContent(`${id} .v`)) || 'NaN';
    return parseFloat(v) * (/\d s$/.test(v) ? 1000 : 1);
  };
  const runTo = async (preset, s) => {
    await open(page, `?preset=${preset}&speed=20`);
    await page.click('#compare-toggle');
    await page.waitForSelector('#lanes');
    await play(page);
    await until(() => tUs(page), (t) => t >= s * 1e6, `${preset} at ${s} s`, 30000);
    await pause(page);
    await settle(page);
  };
  // M/M/1 at three loads: no lane loses anything, so latency leads, and it grows with the load.
  await runTo('mm1', 40);
  assert(!(await page.$('#lane0-exactly')), 'mm1 lanes: no ledger cards where nothing is lost or doubled');
  const means = [await card('#lane0-mean'), await card('#lane1-mean'), await card('#lane2-mean')];
  assert(means.every((m) => m > 0) && means[0] < means[1] && means[1] < means[2], `mean latency rises with the load: ${means}`);
  assert((await page.textContent('#lane0-stats')).includes('nothing lost or doubled'), 'the line under the cards says nothing was lost');
  await page.screenshot({ path: path.join(SHOTS, 'lanes-lead-mm1-1024x640.png') });
  // SQS: short polling pays in requests.
  await runTo('sqs-long-polling', 20);
  const [long, short] = [await card('#lane0-requests'), await card('#lane1-requests')];
  assert(short > 5 * long, `short polling makes far more requests (${short} vs ${long})`);
  // Kafka: a zombie without transactions doubles outputs a read_committed reader sees; with them, none.
  await runTo('kafka-zombie-fencing', 20);
  const [plain, txn] = [await card('#lane0-doubled'), await card('#lane1-doubled')];
  assert(plain > 0 && txn === 0, `doubled without transactions ${plain} > 0, with them ${txn} = 0`);
  // Guarantees: the ledger's cards lead.
  await runTo('guarantee-matrix', 10);
  assert(await page.$('#lane0-exactly') && !(await page.$('#lane0-mean')), 'guarantee-matrix lanes lead with the ledger');
}, { viewport: { width: 1024, height: 640 } });

test('a crash after the effect, before the ack, duplicates a payment', async (page) => {
  // guarantee-matrix's base is at-least-once (manual ack, no dedup); its
  // random faults are switched off here so that only the click can duplicate.
  await open(page, '?preset=guarantee-matrix');
  await clickNode(page, 'charge');
  await settle(page);
  assert(await page.isVisible('#crash-after-effect'), 'the consumer inspector offers crash after effect');
  for (const id of ['#fault-crash-receive', '#fault-crash-effect', '#fault-ack-drop']) {
    await page.fill(id, '0');
    await page.$eval(id, (el) => el.dispatchEvent(new Event('change', { bubbles: true })));
  }
  await clickNode(page, 'checkout');
  await settle(page);
  assert(await page.isVisible('#fault-confirm-drop'), 'the producer inspector offers link faults');
  for (const id of ['#fault-drop', '#fault-confirm-drop']) {
    await page.fill(id, '0');
    await page.$eval(id, (el) => el.dispatchEvent(new Event('change', { bubbles: true })));
  }
  await settle(page);
  // A 768 px window starts with the charts and log folded: show them.
  await unfoldCharts(page);
  const log = await page.$$eval('.log-row', (rs) => rs.map((r) => r.textContent).join('\n'));
  assert(/faults/.test(log), 'the fault changes are commands in the event log');
  await setSpeed(page, 5);
  await play(page);
  await until(() => tUs(page), (t) => t > 4e6, 'four seconds');
  await pause(page);
  const before = await ledger(page);
  assert(before.dup === 0, `no duplicate without faults (${JSON.stringify(before)})`);
  await clickNode(page, 'charge');
  await settle(page);
  await page.click('#crash-after-effect');
  await settle(page);
  await play(page);
  // The armed crash fires at the next effect; the broker redelivers the
  // unacked message to the other instance, which charges it again.
  const after = await until(() => ledger(page), (l) => l.dup > before.dup, 'duplicated to go up after the redelivery', 20000);
  await pause(page);
  assert(after.dup === before.dup + 1, `one more duplicated (${before.dup} → ${after.dup})`);
  assert(after.lost === 0, `nothing lost (${after.lost})`);
  // The example opens that message's journey.
  await page.click('#ledger-why');
  await settle(page);
  const shown = await page.$eval('#ledger-details', (el) => {
    const r = el.getBoundingClientRect();
    return r.top >= 0 && r.top < window.innerHeight - 40;
  });
  assert(shown, '"Why?" scrolls the inspector to the ledger details');
  const explain = await page.textContent('#ledger-explain');
  assert(/ack after the effect/.test(explain), `the explanation names the mechanism: ${explain}`);
  await page.waitForSelector('#ledger-examples .ex.duplicated .msg-link');
  await page.click('#ledger-examples .ex.duplicated .msg-link');
  await settle(page);
  const journey = await page.textContent('.side-body');
  assert(/redeliver|crash/i.test(journey), 'the journey of the duplicated payment shows its redelivery');
  await page.screenshot({ path: path.join(SHOTS, 'crash-after-effect.png') });
  // Rewind and play again: the crash is a logged command, so it replays.
  const hashBefore = await attr(page, 'data-trace-hash');
  const tNow = await tUs(page);
  await page.$eval('#scrubber', (el) => { el.value = '1000'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await settle(page);
  await page.$eval('#scrubber', (el, ms) => { el.value = String(ms); el.dispatchEvent(new Event('input', { bubbles: true })); }, Math.floor(tNow / 1000));
  await settle(page);
  const again = await ledger(page);
  if ((await tUs(page)) === tNow) assert((await attr(page, 'data-trace-hash')) === hashBefore, 'rewind replays the same trace');
  assert(again.dup === after.dup, `rewind replays the crash (${again.dup} vs ${after.dup})`);
}, { viewport: { width: 1366, height: 768 } });

test('the user\'s commands reach every lane at their time, and rewind keeps them', async (page) => {
  await open(page, '?preset=guarantee-matrix&speed=10');
  await clickNode(page, 'charge');
  await settle(page);
  // Armed at t = 0: the next instance to finish an effect crashes before its ack.
  await page.click('#crash-after-effect');
  await settle(page);
  await page.click('#compare-toggle');
  await page.waitForSelector('#lanes');
  const applied = () => page.$$eval('.lane', (ls) => ls.map((l) => Number(l.dataset.commands)));
  assert((await applied()).every((n) => n === 1), `the command applied in every lane (${await applied()})`);
  await play(page);
  await until(() => tUs(page), (t) => t > 3e6, 'three seconds');
  await pause(page);
  await settle(page);
  const a = await lanes(page);
  await page.$eval('#scrubber', (el) => { el.value = '1500'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await settle(page);
  assert((await applied()).every((n) => n === 1), `after a seek back the lanes still have the command (${await applied()})`);
  await page.$eval('#scrubber', (el, ms) => { el.value = String(ms); el.dispatchEvent(new Event('input', { bubbles: true })); }, Math.floor(a[0].t / 1000));
  await settle(page);
  const b = await lanes(page);
  if (b[0].t === a[0].t) {
    assert(JSON.stringify(a) === JSON.stringify(b), `back and forth gives the same lanes: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
}, { viewport: { width: 1366, height: 768 } });

test('the dial: exactly-once sets the label, a knob afterwards makes it custom', async (page) => {
  await open(page, '?preset=guarantee-matrix');
  assert((await page.getAttribute('#guarantee-dial', 'data-label')) === 'at_least_once', 'the base is at-least-once');
  await page.selectOption('#guarantee-dial', 'exactly_once');
  await settle(page);
  assert((await page.getAttribute('#guarantee-dial', 'data-label')) === 'exactly_once', 'the dial says exactly-once');
  assert((await ledger(page)).g === 'exactly_once', 'the ledger says exactly-once');
  assert((await page.$eval('#guarantee-dial', (s) => s.value)) === 'exactly_once', 'the select shows it');
  await page.screenshot({ path: path.join(SHOTS, 'dial-exactly-once.png') });
  // On this projector the side panel starts folded: "Why?" opens it at the explanation.
  await page.click('#ledger-why');
  await settle(page);
  const explain = await page.textContent('#ledger-explain');
  assert(/idempotent consumer/.test(explain), `the explanation names the dedup store: ${explain}`);
  // Turning the dedup store off is a knob the bundle does not have: custom.
  await clickNode(page, 'charge');
  await settle(page);
  await page.fill('#knob-dedup-window', '');
  await page.$eval('#knob-dedup-window', (el) => el.dispatchEvent(new Event('change', { bubbles: true })));
  await settle(page);
  assert((await page.getAttribute('#guarantee-dial', 'data-label')) === 'at_least_once', 'without dedup the knobs match at-least-once again');
  await page.selectOption('#knob-ack', 'auto');
  await settle(page);
  assert((await page.getAttribute('#guarantee-dial', 'data-label')) === 'custom', 'auto-ack with confirms: custom');
  assert((await page.$eval('#guarantee-dial', (s) => s.value)) === 'custom', 'the select shows custom');
  await page.screenshot({ path: path.join(SHOTS, 'dial-custom.png') });
}, { viewport: { width: 1024, height: 640 } });

test('SQS FIFO: the strip counts what the queue deduplicated and "Why?" says how, on one row at 1024×640', async (page) => {
  await open(page, '?preset=sqs-fifo-groups&speed=20');
  await play(page);
  const dedup = async () => Number((await page.textContent('#ledger-deduplicated')).replace(/\D+/g, ''));
  await until(dedup, (n) => n >= 5, 'sends the FIFO queue deduplicated');
  await pause(page);
  const title = await page.getAttribute('#ledger-deduplicated', 'title');
  assert(/sends the queue acknowledged but did not store/.test(title), `the tooltip splits it: ${title}`);
  const l = await ledger(page);
  assert(l.dup === 0 && l.lost === 0, `no duplicated, nothing lost: ${JSON.stringify(l)}`);
  await page.click('#ledger-why');
  await settle(page);
  const explain = await page.textContent('#ledger-explain');
  assert(/delivers 10% of sends twice/.test(explain) && /SQS FIFO: a send repeating a MessageDeduplicationId/.test(explain),
    `the explanation names the doubled sends and the FIFO deduplication: ${explain}`);
  // With the side panel open the strip still keeps its buttons beside the counters.
  const why = await page.$eval('#ledger-why', (b) => b.getBoundingClientRect().top);
  const card = await page.$eval('#ledger-exactly', (c) => c.getBoundingClientRect().bottom);
  assert(why < card, `"Why?" sits on the counters' row (button top ${why}, counters' bottom ${card})`);
  await page.screenshot({ path: path.join(SHOTS, 'sqs-fifo-why.png') });
}, { viewport: { width: 1024, height: 640 } });

test('the ledger is available everywhere: toggled on a scenario without guarantees', async (page) => {
  await open(page, '?preset=mm1');
  assert(!(await page.$('#ledger')), 'not shown unasked on a plain scenario');
  await page.click('#toggle-ledger');
  await settle(page);
  assert(await page.isVisible('#ledger'), 'the Ledger button shows it');
  await play(page);
  await until(() => ledger(page), (l) => l.exactly > 0, 'effects counted');
  await pause(page);
  // Topics and groups only: no queue consumer, so the log's ledger instead
  // of the queue counters (which would read 0), as a Kafka lane shows it.
  await open(page, '?preset=kafka-three-groups&speed=20');
  await page.click('#toggle-ledger');
  await settle(page);
  assert(!(await page.$('#ledger-none')) && !(await page.$('#ledger-exactly')), 'no queue counters on a topic-only scenario');
  await play(page);
  await until(async () => Number(await page.textContent('#ledger-processed .v')), (n) => n > 0, 'records processed in the log ledger');
  await pause(page);
  const lines = await page.$$eval('#ledger-streams li', (ls) => ls.map((l) => l.textContent));
  assert(lines.some((l) => l.startsWith('order-events:')) && lines.some((l) => l.startsWith('billing:')), `a line per topic and group: ${lines}`);
  // The groups come first (they carry the cards' numbers); the list shows
  // whole lines only, and its title has them all.
  assert(lines.slice(0, 3).every((l) => /^(analytics|billing|fraud): processed \d+/.test(l)), `the three groups first: ${lines}`);
  const title = await page.getAttribute('#ledger-streams', 'title');
  assert(lines.every((l) => title.includes(l)), `the title has every line: ${title}`);
  await wholeLines(page, '#ledger-streams');
  // Five topics with the same verdict share one line, and with the side
  // panel open at 1024 px no line of the strip shows cut in half.
  await open(page, '?preset=kafka-retry-topics&speed=20');
  if (!(await page.$('#ledger'))) await page.click('#toggle-ledger');
  await play(page);
  await until(async () => Number(await page.textContent('#ledger-processed .v')), (n) => n > 0, 'retry-topics records processed');
  await pause(page);
  await page.click('#ledger-why');
  await settle(page);
  const retry = await page.$$eval('#ledger-streams li', (ls) => ls.map((l) => l.textContent));
  assert(retry.length === 4 && retry[3] === 'payments, payments-dlt, payments-retry-1s and 2 more: nothing lost or doubled', `three groups, then one line for the five topics: ${retry}`);
  await wholeLines(page, '#ledger-streams');
  await page.screenshot({ path: path.join(SHOTS, 'ledger-streams-retry-topics-1024x640.png') });
  // Pulsar: each subscription is a virtual queue of the ledger, so it counts, and the dial reaches it.
  await open(page, '?preset=pulsar-subscription-types&speed=20');
  await page.click('#toggle-ledger');
  await settle(page);
  assert(!(await page.$('#ledger-none')) && await page.isVisible('#ledger-exactly'), 'a Pulsar scenario has counters');
  await page.selectOption('#guarantee-dial', 'exactly_once');
  await settle(page);
  assert((await page.getAttribute('#guarantee-dial', 'data-label')) === 'exactly_once', 'the dial reaches Pulsar subscriptions');
  await play(page);
  await until(() => ledger(page), (l) => l.exactly > 0, 'Pulsar effects counted');
  await pause(page);
}, { viewport: { width: 1024, height: 640 } });

test('alert rules: the strip, the red badge and the timeline say when an error rate alert fires, and rewind takes it back', async (page) => {
  await open(page, '?preset=error-rate-alert&speed=20');
  const state = (id) => page.getAttribute(`#alert-${id}`, 'data-state');
  assert((await state('payment-errors')) === 'inactive', 'quiet before the outage');
  assert((await page.textContent('#alert-payment-errors')).includes('ok'), 'the pill says ok');
  await play(page);
  for (let i = 0; i < 80 && (await tUs(page)) < 16e6; i++) await sleep(250);
  await pause(page);
  await settle(page);
  const pill = await page.textContent('#alert-payment-errors');
  console.log(`    at ${(await tUs(page)) / 1e6} s: ${pill} | ${await page.textContent('#alert-dlq-not-empty')}`);
  assert((await state('payment-errors')) === 'firing' && /FIRING.*\d+(\.\d)?%/.test(pill), `payment-errors fires with its rate: ${pill}`);
  assert((await state('dlq-not-empty')) === 'firing', 'the DLQ alert fires');
  const marks = await page.$$eval('.scrubber .marker.alert', (ms) => ms.map((m) => m.title));
  assert(marks.length === 2 && marks.some((t) => /alert payment-errors fired/.test(t)), `two firing marks on the timeline: ${marks}`);
  assert(await page.isVisible('.legend [data-mark="alert"]'), 'the legend explains the ALERT badge');
  await clickNode(page, 'payment-svc');
  const ins = await page.textContent('#inspector-alerts');
  assert(/alert payment-errors.*error rate > 5% over 10s for 2s.*firing/.test(ins), `the inspector lists the consumer's rule: ${ins}`);
  await page.screenshot({ path: path.join(SHOTS, 'alert-firing-1024x640.png') });
  // Rewind to 5 s: nothing has fired yet.
  await page.$eval('#scrubber', (el) => { el.value = '5000'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await sleep(300);
  assert((await state('payment-errors')) === 'inactive' && (await state('dlq-not-empty')) === 'inactive', 'rewound: both ok');
  assert((await page.$$('.scrubber .marker.alert')).length === 0, 'rewound: no firing marks');
}, { viewport: { width: 1024, height: 640 } });

await run('guarantee');
