// Browser tests of the Pulsar picture (issue 10): a topic read by four
// subscription types, each box showing its type, counts, consumers (busy,
// idle, crashed, the failover's active one) and, for Key_Shared, the hash
// slots each consumer owns; a crash moves the slots and the failover's
// active consumer, and the inspector says so.
//
//   BASE_URL=http://127.0.0.1:PORT/ SHOTS=../target/screenshots node pulsar-tests.mjs
//
// Screenshots go to $SHOTS/pulsar/. Exits non-zero on failure.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import {
  test, run, sleep, assert, open, settle, tUs, clickNode, play, pause, setSpeed, seekMs, SHOTS as SHOTS_ROOT,
} from './lib.mjs';

const SHOTS = path.join(SHOTS_ROOT, 'pulsar');
const CLI = process.env.QUEUELAB || path.resolve('../target/debug/queuelab');
fs.mkdirSync(SHOTS, { recursive: true });

/** Play until the simulated clock passes `us` (or fail after `ms`). On a
 *  loaded machine a frame can carry the clock well past `us` before the
 *  pause lands; past `maxUs`, rewind to `us` with the timeline. */
async function playTo(page, us, ms = 30000, maxUs = Infinity) {
  await play(page);
  const t0 = Date.now();
  while ((await tUs(page)) < us) {
    if (Date.now() - t0 > ms) throw new Error(`clock stuck at ${await tUs(page)} µs`);
    await sleep(100);
  }
  await pause(page);
  await settle(page);
  if ((await tUs(page)) > maxUs) {
    await seekMs(page, Math.ceil(us / 1000));
    await settle(page);
    const t = await tUs(page);
    assert(t >= us && t <= maxUs, `rewound to ${t} µs, wanted ${us}..${maxUs}`);
  }
}

const inspector = (page) => page.textContent('#inspector');
/** Each consumer's state in the inspector (`data-state` of its row). */
const states = (page) => page.$$eval('#pulsar-consumers li[data-consumer]', (ls) =>
  Object.fromEntries(ls.map((l) => [l.dataset.consumer, l.dataset.state])));

for (const vp of [{ width: 1366, height: 768 }, { width: 1024, height: 640 }]) {
  test(`pulsar subscription types at ${vp.width}×${vp.height}: failover takeover, key_shared slots move on a crash`, async (page) => {
    await open(page, '?preset=pulsar-subscription-types');
    await setSpeed(page, 8);
    await playTo(page, 13_000_000, 30000, 14_500_000);
    // shipping (key_shared): c1 crashed at 12 s and is back at 15 s; its
    // slots went to a neighbour, so it owns none now.
    await clickNode(page, 'shipping');
    let text = await inspector(page);
    assert(/key_shared/.test(text), `shipping's inspector names its type: ${text}`);
    let st = await states(page);
    assert(st.c1 === 'crashed', `shipping shows c1 crashed: ${JSON.stringify(st)}`);
    assert(!/c1: \d+-\d+/.test(text), `a crashed consumer owns no slots: ${text}`);
    assert(/c0: \d+-\d+/.test(text) && /c2: \d+-\d+/.test(text), `the others own slots: ${text}`);
    // billing (failover): c0 crashed at 8 s, c1 is active.
    await clickNode(page, 'billing');
    text = await inspector(page);
    st = await states(page);
    assert(st.c0 === 'crashed', `billing shows c0 crashed: ${JSON.stringify(st)}`);
    assert(/c1\s*(busy|up|idle) · active/.test(text), `billing's c1 is active: ${text}`);
    await clickNode(page, 'billing'); // deselect
    await page.keyboard.press('Escape');
    await settle(page);
    await page.screenshot({ path: path.join(SHOTS, `subscription-types-${vp.width}.png`) });
    // After the restart at 15 s, c1 owns slots again.
    await setSpeed(page, 4);
    await playTo(page, 16_000_000);
    await clickNode(page, 'shipping');
    text = await inspector(page);
    assert(/c1: \d+-\d+/.test(text), `c1 is back with slots: ${text}`);
  }, { viewport: vp });
}

test('pulsar redelivery: negative acks, redeliveries and dead letters count up', async (page) => {
  await open(page, '?preset=pulsar-redelivery');
  await setSpeed(page, 10);
  await playTo(page, 25_000_000, 40000);
  await clickNode(page, 'charge');
  const text = await inspector(page);
  const n = (label) => Number((text.match(new RegExp(`${label}\\s*(\\d+)`)) || [])[1]);
  assert(n('negative acks') > 20, `negative acks counted: ${text}`);
  assert(n('redelivered') > 20, `redeliveries counted: ${text}`);
  assert(n('dead-lettered') >= 1, `a dead letter after 4 deliveries: ${text}`);
  await page.screenshot({ path: path.join(SHOTS, 'redelivery-1366.png') });
}, { viewport: { width: 1366, height: 768 } });

// A scenario no preset has: the share link of it comes from the CLI.
function linkOf(scenario) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-pulsar-'));
  const file = path.join(dir, 'scenario.json');
  fs.writeFileSync(file, JSON.stringify(scenario));
  try {
    const out = execFileSync(CLI, ['link', file], { encoding: 'utf8' }).trim().split('\n');
    return out[out.length - 1];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('pulsar unacked cap: the inspector names the partitions a consumer is blocked on', async (page) => {
  // c0 takes 20 s a message: its third unacked message of a partition
  // blocks it there (maxUnackedMessagesPerConsumer 3, per partition).
  const link = linkOf({
    title: 'Pulsar: a slow consumer at its unacked cap',
    duration: '60s',
    producers: [{ id: 'p', to: 't', rate: '10/s', arrival: 'constant' }],
    pulsar_topics: [{ id: 't', partitions: 2 }],
    pulsar_subscriptions: [{ id: 's', topic: 't', type: 'shared', consumers: 2,
      service: { constant: '10ms' }, max_unacked_per_consumer: 3,
      consumer_service: [{ consumer: 0, service: { constant: '20s' } }] }],
  });
  await open(page, link.slice(link.indexOf('#')));
  await setSpeed(page, 4);
  await playTo(page, 3_000_000);
  await clickNode(page, 's');
  const row = (c) => page.textContent(`#pulsar-consumers li[data-consumer="${c}"]`);
  const c0 = await row('c0');
  assert(/blocked on p\d/.test(c0), `c0 is blocked on a partition: ${c0}`);
  assert(!/blocked/.test(await row('c1')), `c1 is not blocked: ${await row('c1')}`);
  const sub = await page.textContent('#pulsar-blocked');
  assert(/^no · consumers blocked [1-9]\d*×/.test(sub), `the subscription is not blocked, c0 was: ${sub}`);
  await page.locator('#pulsar-consumers').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, 'unacked-cap-1024.png') });
}, { viewport: { width: 1024, height: 640 } });

await run('pulsar');
