// Browser tests of the other brokers' knobs in the inspector (issue 10 §5):
// Pulsar subscriptions (crash / restart a consumer, ackTimeout with "off",
// negative-ack delay), Redis Pub/Sub (disconnect / reconnect, SUBSCRIBE,
// output-buffer limits) and SQS (visibility timeout, ChangeMessageVisibility,
// redrive, WaitTimeSeconds, MaxNumberOfMessages). Every knob is a logged
// command: it shows in the command list, survives a rewind, and a share link
// replays it to the same trace hash. A bad value shows an error naming its field.
//
// What the app shows is read from the DOM: `#pulsar-consumers li[data-consumer][data-state]`,
// `#redis-connected[data-connected]`, `#sqs-vt-now`, `#command-error`, `#commands`.
//
//   BASE_URL=http://127.0.0.1:PORT/ SHOTS=../target/screenshots node broker-tests.mjs
//
// Screenshots go to $SHOTS/brokers/. Exits non-zero on failure.
import fs from 'node:fs';
import path from 'node:path';
import {
  test, run, sleep, assert, open, ready, settle, tUs, hash, clickNode, play, pause, setSpeed, seekMs, SHOTS as SHOTS_ROOT,
} from './lib.mjs';

const SHOTS = path.join(SHOTS_ROOT, 'brokers');
fs.mkdirSync(SHOTS, { recursive: true });

/** Type `value` into field `sel` and commit it (Enter fires `change`). */
async function type(page, sel, value) {
  await page.fill(sel, value);
  await page.press(sel, 'Enter');
  await settle(page);
}
const errorText = async (page) => ((await page.isVisible('#command-error')) ? page.textContent('#command-error') : '');
async function noError(page, what) {
  const e = await errorText(page);
  assert(!e, `${what}: no error (got "${e}")`);
}
async function errorNames(page, field, what) {
  const e = await errorText(page);
  assert(e.includes(field), `${what}: an error naming "${field}" (got "${e}")`);
}
/** The command list (shown when nothing is selected); the selection is restored by the caller. */
async function commands(page) {
  if (await page.isVisible('#inspector .close')) await page.click('#inspector .close');
  await settle(page);
  return (await page.isVisible('#commands')) ? page.textContent('#commands') : '';
}
/** The inspector fits its panel: nothing makes it scroll sideways. */
async function fitsPanel(page, what) {
  const [sw, cw] = await page.$eval('#inspector', (el) => {
    const body = el.closest('.side-body') || el;
    return [body.scrollWidth, body.clientWidth];
  });
  assert(sw <= cw + 1, `${what}: the inspector is ${sw} px wide in a ${cw} px panel`);
}
const consumerStates = (page) => page.$$eval('#pulsar-consumers li', (rs) => Object.fromEntries(rs.map((r) => [r.dataset.consumer, r.dataset.state])));

/** Run `ms` of wall time at `speed`, then pause. */
async function runFor(page, ms, speed = 5) {
  await setSpeed(page, speed);
  await play(page);
  await sleep(ms);
  await pause(page);
  await settle(page);
}

/** Copy the share link, open it in a second page: same time and trace hash. */
async function linkReplays(page, what) {
  const before = { t: await tUs(page), hash: await hash(page) };
  await page.click('#copy-link');
  await sleep(200);
  const link = await page.inputValue('#link-text');
  assert(link.includes('#v1.'), `${what}: the dialog shows a link`);
  await page.click('#link-dialog-close');
  const other = await page.context().newPage();
  await other.goto(link);
  await ready(other);
  await sleep(1000);
  const after = { t: await tUs(other), hash: await hash(other) };
  await other.close();
  assert(after.t === before.t && after.hash === before.hash,
    `${what}: the link replays the knobs (t ${after.t} vs ${before.t}, hash ${after.hash} vs ${before.hash})`);
}

const sizes = [{ width: 1366, height: 768 }, { width: 1024, height: 640 }];
for (const vp of sizes) {
  test(`pulsar subscription at ${vp.width}×${vp.height}: crash / restart a consumer, ack timeout, nack delay`, async (page) => {
    await open(page, '?preset=pulsar-subscription-types&seed=3');
    await runFor(page, 400);
    await clickNode(page, 'emails');
    assert((await page.textContent('#inspector-title')) === 'emails', 'emails selected');
    assert((await page.textContent('#pulsar-type')) === 'shared', 'a shared subscription');
    let st = await consumerStates(page);
    assert(Object.keys(st).join(',') === 'c0,c1,c2', `three consumers (${JSON.stringify(st)})`);
    assert(Object.values(st).every((s) => s !== 'crashed'), `none crashed yet (${JSON.stringify(st)})`);
    // Crash a consumer holding unacknowledged messages (run on until one does).
    let victim = null;
    for (let i = 0; i < 30 && !victim; i++) {
      const unacked = await page.$$eval('#pulsar-consumers li', (rs) => rs.map((r) => [r.dataset.consumer, Number(r.dataset.unacked)]));
      victim = (unacked.find(([, n]) => n > 0) || [null])[0];
      if (!victim) await runFor(page, 150);
    }
    assert(victim, 'a consumer with unacked messages');
    assert((await page.inputValue('#pulsar-crash-point')) === 'now', 'crashes strike now by default');
    await page.click(`#pulsar-crash-${victim}`);
    await settle(page);
    st = await consumerStates(page);
    assert(st[victim] === 'crashed', `${victim} crashed (${JSON.stringify(st)})`);
    assert(!(await page.$(`#pulsar-crash-${victim}`)), 'a crashed consumer cannot crash again');
    assert(await page.isVisible(`#pulsar-restart-${victim}`), 'a crashed consumer can restart');
    await noError(page, 'crash');
    // Ack timeout: the Java client refuses less than 1 s; 2 (seconds) is fine; "off" turns it off.
    await type(page, '#pulsar-ack-timeout', '0.5');
    await errorNames(page, 'ack timeout', 'a 0.5 s ack timeout');
    await type(page, '#pulsar-ack-timeout', '2');
    await noError(page, 'a 2 s ack timeout');
    assert((await page.textContent('label[for=pulsar-ack-timeout]')).includes('now 2 s'), 'the label shows the ack timeout now');
    // Negative-ack delay: nonsense is refused with the field named, a unit works.
    await type(page, '#pulsar-nack-delay', 'soon');
    await errorNames(page, 'negative-ack delay', 'a nonsense delay');
    await type(page, '#pulsar-nack-delay', '500ms');
    await noError(page, 'a 500 ms delay');
    assert((await page.textContent('label[for=pulsar-nack-delay]')).includes('now 0.5 s'), 'the label shows the delay now');
    await runFor(page, 600);
    const redelivered = Number(await page.textContent('#pulsar-redelivered'));
    assert(redelivered > 0, `${victim}'s unacked messages were redelivered (${redelivered})`);
    await page.click('#pulsar-ack-timeout-off');
    await settle(page);
    assert((await page.textContent('label[for=pulsar-ack-timeout]')).includes('now off'), 'ack timeout off');
    await page.click(`#pulsar-restart-${victim}`);
    await settle(page);
    st = await consumerStates(page);
    assert(st[victim] !== 'crashed', `${victim} back (${JSON.stringify(st)})`);
    assert(await page.isVisible(`#pulsar-crash-${victim}`), 'a restarted consumer can crash again');
    assert((await page.inputValue('#pulsar-crash-point')) === 'now', 'the crash point stays as chosen');
    await fitsPanel(page, 'pulsar subscription');
    await page.screenshot({ path: path.join(SHOTS, `pulsar-emails-${vp.width}x${vp.height}.png`) });
    // Every knob is in the command list; the refused values are not.
    const log = await commands(page);
    for (const c of [`emails: ${victim} crashes`, 'emails: ack timeout 2s', 'emails: negative-ack delay 500ms', 'emails: no ack timeout', `emails: ${victim} subscribes again`]) {
      assert(log.includes(c), `"${c}" in the command list (${log})`);
    }
    assert(!log.includes('500ms ack') && !log.includes('ack timeout 500ms'), 'the refused ack timeout was not applied');
    // Rewind and come back: the same run (the commands are replayed at their time).
    const M = Math.floor((await tUs(page)) / 1000);
    await seekMs(page, M);
    await settle(page);
    const T = await tUs(page);
    const h = await hash(page);
    await seekMs(page, 100);
    await settle(page);
    await seekMs(page, M);
    await settle(page);
    assert((await tUs(page)) === T && (await hash(page)) === h, `rewind replays the knobs to the same trace (${T} ${h})`);
    await linkReplays(page, 'pulsar');
  }, { viewport: vp });
}

test('redis pub/sub: disconnect, reconnect, subscribe, output-buffer limits', async (page) => {
  await open(page, '?preset=redis-pubsub-disconnect&seed=2');
  await runFor(page, 500);
  await clickNode(page, 'billing');
  assert((await page.textContent('#inspector-title')) === 'billing', 'billing selected');
  assert((await page.getAttribute('#redis-connected', 'data-connected')) === 'true', 'billing connected');
  assert(await page.isDisabled('#redis-reconnect'), 'nothing to reconnect');
  await page.click('#redis-disconnect');
  await settle(page);
  assert((await page.getAttribute('#redis-connected', 'data-connected')) === 'false', 'billing away after Disconnect');
  assert(await page.isEnabled('#redis-reconnect'), 'it can reconnect');
  await runFor(page, 500);
  await page.click('#redis-reconnect');
  await settle(page);
  assert((await page.getAttribute('#redis-connected', 'data-connected')) === 'true', 'billing back after Reconnect');
  // SUBSCRIBE / PSUBSCRIBE: a name with * is a pattern; an empty name is refused.
  await page.fill('#redis-channel', '');
  await page.click('#redis-subscribe');
  await settle(page);
  await errorNames(page, 'channel or pattern', 'an empty channel');
  await page.fill('#redis-channel', 'orders.*');
  await page.click('#redis-subscribe');
  await settle(page);
  await noError(page, 'PSUBSCRIBE');
  assert((await page.textContent('#redis-channels')).includes('orders.*'), 'the pattern is listed');
  await fitsPanel(page, 'redis subscriber');
  await page.screenshot({ path: path.join(SHOTS, 'redis-subscriber-1366x768.png') });
  // The server's output-buffer limits: a bad size names its field.
  await clickNode(page, 'redis');
  assert((await page.textContent('#inspector-title')) === 'redis', 'the server selected');
  await page.fill('#redis-hard-limit', '1mb');
  await page.fill('#redis-soft-limit', 'lots');
  await page.click('#redis-set-limit');
  await settle(page);
  await errorNames(page, 'soft limit', 'a nonsense soft limit');
  await page.fill('#redis-soft-limit', '256kb');
  await page.fill('#redis-soft-time', '10');
  await page.click('#redis-set-limit');
  await settle(page);
  await noError(page, 'good limits');
  assert((await page.textContent('#inspector')).includes('hard 1048576 B, soft 262144 B for 10 s'), 'the new limits show');
  await fitsPanel(page, 'redis server');
  await page.screenshot({ path: path.join(SHOTS, 'redis-server-1366x768.png') });
  const log = await commands(page);
  for (const c of ['billing: disconnect', 'billing: reconnect', 'billing: PSUBSCRIBE orders.*', 'redis: client-output-buffer-limit pubsub 1048576 262144 10s']) {
    assert(log.includes(c), `"${c}" in the command list (${log})`);
  }
  await linkReplays(page, 'redis');
}, { viewport: { width: 1366, height: 768 } });

test('sqs: visibility timeout, change visibility, wait time, max messages, redrive', async (page) => {
  await open(page, '?preset=sqs-visibility-timeout&seed=5');
  await runFor(page, 800, 20);
  await clickNode(page, 'jobs');
  assert((await page.textContent('#inspector-title')) === 'jobs', 'jobs selected');
  assert((await page.textContent('#sqs-type')) === 'standard', 'a standard SQS queue');
  assert(!(await page.$('#knob-maxlen')), 'no RabbitMQ max-length knob on an SQS queue');
  await type(page, '#sqs-visibility-timeout', '13h');
  await errorNames(page, 'visibility_timeout', 'a 13 h visibility timeout');
  await type(page, '#sqs-visibility-timeout', '10');
  await noError(page, 'a 10 s visibility timeout');
  assert((await page.textContent('#sqs-vt-now')) === '10s', 'the visibility timeout now');
  await page.fill('#sqs-change-visibility', '0');
  await page.click('#sqs-change-visibility-go');
  await settle(page);
  await noError(page, 'ChangeMessageVisibility');
  await fitsPanel(page, 'sqs queue');
  await page.screenshot({ path: path.join(SHOTS, 'sqs-queue-1024x640.png') });
  await clickNode(page, 'worker');
  assert(!(await page.$('#knob-prefetch')), 'no AMQP prefetch knob on an SQS consumer');
  await type(page, '#sqs-wait-time', '0');
  await noError(page, 'short polling');
  assert((await page.textContent('label[for=sqs-wait-time]')).includes('now 0s'), 'wait time now 0s');
  await type(page, '#sqs-max-messages', '11');
  await errorNames(page, 'max messages', '11 messages per receive');
  await type(page, '#sqs-max-messages', '10');
  await noError(page, '10 messages per receive');
  await fitsPanel(page, 'sqs consumer');
  await page.screenshot({ path: path.join(SHOTS, 'sqs-consumer-1024x640.png') });
  await clickNode(page, 'jobs-dlq');
  assert(await page.isVisible('#sqs-redrive'), 'the dead-letter queue offers a redrive');
  await page.click('#sqs-redrive');
  await settle(page);
  await noError(page, 'redrive');
  const log = await commands(page);
  for (const c of ['jobs: visibility timeout → 10s', 'jobs: messages in flight visible in 0s', 'worker: wait time → 0s', 'worker: max messages → 10', 'jobs-dlq: redrive dead letters']) {
    assert(log.includes(c), `"${c}" in the command list (${log})`);
  }
  assert(!log.includes('max messages → 11'), 'the refused value was not applied');
  await linkReplays(page, 'sqs');
}, { viewport: { width: 1024, height: 640 } });

for (const vp of sizes) {
  test(`priorities at ${vp.width}×${vp.height}: a priority queue's levels and each producer's mean, a consumer's x-priority`, async (page) => {
    await open(page, '?preset=priority-queue');
    assert(await page.isVisible('#legend [data-mark=priority]'), 'the legend explains the outlined (prioritised) squares');
    await runFor(page, 1500, 40);
    await clickNode(page, 'jobs');
    const inspector = await page.textContent('#inspector');
    assert(inspector.includes('PRIORITY QUEUE'), 'the queue is tagged a priority queue');
    const levels = await page.textContent('#queue-priorities');
    assert(/^p5 \d+ · .*p0 \d+$/.test(levels), `ready by priority, p5 first and p0 last: "${levels}"`);
    const meanMs = async (id) => {
      await clickNode(page, id);
      const t = await page.textContent('#producer-e2e');
      const m = t.match(/([\d.]+)\s*(ms|s)/);
      assert(m, `${id}: a mean end-to-end time ("${t}")`);
      return m[2] === 's' ? Number(m[1]) * 1000 : Number(m[1]);
    };
    const alerts = await meanMs('urgent-alerts');
    const reports = await meanMs('bulk-reports');
    assert(alerts < reports, `alerts (${alerts} ms) overtake reports (${reports} ms)`);
    await fitsPanel(page, 'priority producer');
    await page.screenshot({ path: path.join(SHOTS, `priority-queue-${vp.width}x${vp.height}.png`) });
    await open(page, '?preset=consumer-priorities');
    await clickNode(page, 'on-prem');
    assert((await page.textContent('#consumer-priority')) === '10', 'on-prem shows x-priority 10');
    await clickNode(page, 'cloud-burst');
    assert(!(await page.$('#consumer-priority')), 'no priority line for a consumer without one');
    await page.screenshot({ path: path.join(SHOTS, `consumer-priorities-${vp.width}x${vp.height}.png`) });
  }, { viewport: vp });

  test(`single active consumer at ${vp.width}×${vp.height}: one instance works, the next takes over after a crash`, async (page) => {
    await open(page, '?preset=single-active-consumer');
    await clickNode(page, 'ledger-q');
    assert((await page.textContent('#queue-sac-active')) === 'ledger#0', 'the first registered instance is active');
    await runFor(page, 1500, 20);
    assert((await tUs(page)) > 16e6, 'past the crash (9.9 s) and the restart (14.9 s)');
    await clickNode(page, 'ledger-q');
    assert((await page.textContent('#queue-sac-active')) === 'ledger#1', 'after the crash the next registered instance is active');
    await clickNode(page, 'ledger');
    const states = await page.$$eval('#deliveries tbody tr td:nth-child(2)', (ts) => ts.map((t) => t.textContent));
    assert(states[0] === 'standby' && states[2] === 'standby' && states[1] !== 'standby',
      `#0 (restarted) and #2 stand by, #1 works: ${states}`);
    await fitsPanel(page, 'single active consumer');
    await page.screenshot({ path: path.join(SHOTS, `single-active-consumer-${vp.width}x${vp.height}.png`) });
  }, { viewport: vp });

  test(`consumer timeout at ${vp.width}×${vp.height}: a long job's channel closes, the job is done twice`, async (page) => {
    await open(page, '?preset=consumer-timeout');
    assert(!(await page.isVisible('#t-ack-timeouts')), 'no ack-timeout counter before the first one');
    for (let k = 0; k < 10 && (await tUs(page)) < 50e6; k++) await runFor(page, 800, 40);
    assert((await tUs(page)) > 46e6, 'past the first timeout (45 s)');
    const n = Number(await page.textContent('#t-ack-timeouts .v'));
    assert(n >= 1, `the ack-timeout counter shows the close (${n})`);
    const box = await page.$eval('#t-ack-timeouts', (el) => [el.scrollWidth, el.clientWidth]);
    assert(box[0] <= box[1] + 1, `the counter's label fits (${box})`);
    if (!(await page.isVisible('#ledger-why'))) await page.click('#toggle-ledger');
    await page.click('#ledger-why');
    await settle(page);
    const why = await page.textContent('#ledger-explain');
    assert(why.includes('consumer_timeout') && why.includes('effect repeats'), `Why? names the timeout: ${why}`);
    await page.screenshot({ path: path.join(SHOTS, `consumer-timeout-${vp.width}x${vp.height}.png`) });
  }, { viewport: vp });

  test(`broker-comparison side by side at ${vp.width}×${vp.height}: five brokers, one clock`, async (page) => {
    await open(page, '?preset=broker-comparison');
    await page.click('#compare-toggle');
    await page.waitForSelector('#lanes');
    const names = await page.$$eval('.lane', (ls) => ls.map((l) => l.dataset.name));
    assert(names.join(',') === 'rabbitmq,kafka,sqs,redis,pulsar', `five lanes (${names})`);
    await runFor(page, 1200, 10);
    const ts = await page.$$eval('.lane', (ls) => ls.map((l) => Number(l.dataset.tUs)));
    const t = await tUs(page);
    assert(t > 0 && ts.every((x) => x === t), `the lanes follow the one clock (${t}: ${ts})`);
    await page.screenshot({ path: path.join(SHOTS, `compare-${vp.width}x${vp.height}.png`) });
  }, { viewport: vp });
}

await run('broker');
