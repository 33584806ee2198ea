// End-to-end tests of the lesson player: pick a lesson, predict, run, see the
// real outcome beside the guess, go next and back (the step's exact start
// state comes back), progress survives a reload, a link opens a step, and the
// player works in presenter mode at 1024x640.
//
//   BASE_URL=http://127.0.0.1:PORT/ SHOTS=../target/screenshots node lesson-tests.mjs
//
// Same conventions as run-tests.mjs (fresh page per test, console errors fail
// the test, screenshots to $SHOTS); the helpers come from lib.mjs.
import {
  test, run, open, sleep, assert, shot, total, tUs, play, pause, SHOTS,
} from './lib.mjs';
import fs from 'node:fs';
import path from 'node:path';

// ---------------------------------------------------------------- tests

const attr = (page, sel, a) => page.getAttribute(sel, a);
const revealed = async (page) => (await attr(page, '#lesson', 'data-revealed')) === 'true';
const stepIndex = async (page) => Number(await attr(page, '#lesson', 'data-step'));
const traceHash = (page) => attr(page, '#app-root', 'data-trace-hash');

test('pick a lesson, predict, run, and see the outcome from the run', async (page) => {
  await open(page);
  await page.click('#tab-lessons');
  await page.waitForSelector('#lesson-picker');
  const n = await page.locator('#lesson-picker .lesson-open').count();
  assert(n >= 12, `at least twelve lessons in the picker, got ${n}`);
  await page.click('[data-lesson="point-to-point-vs-pubsub"]');
  await page.waitForSelector('#lesson');
  assert((await stepIndex(page)) === 0, 'opens at step 1');
  const narration = await page.textContent('#lesson-narration');
  assert(narration.includes('point-to-point'), `narration shown: ${narration}`);
  assert(await page.locator('#lesson-narration b').count() > 0, 'Markdown bold rendered as an element');
  // Predict the wrong answer on purpose, then run the step animated.
  await page.click('[data-choice="1"]');
  await shot(page, 'lesson-predict-1366x768');
  await page.click('#lesson-run');
  await page.waitForFunction(() => document.querySelector('#lesson').dataset.revealed === 'true', null, { timeout: 40000 });
  const t = await tUs(page);
  assert(t === 20_000_000, `the run stops exactly at the step's end (20 s), at ${t}`);
  const outcome = await page.textContent('#lesson-outcome');
  assert(outcome.includes('The run: About 800') && outcome.includes('✗'), `outcome beside the wrong guess: ${outcome}`);
  assert(await page.locator('.choice.right[data-choice="0"]').count() === 1, 'the right choice is marked');
  // The number matches the engine's totals.
  const published = await total(page, 't-published');
  const processed = await total(page, 't-processed');
  assert(processed <= published && published > 700, `processed ${processed} of ${published}`);
  await shot(page, 'lesson-outcome-1366x768');
}, { viewport: { width: 1366, height: 768 } });

test('next and back restore the exact state of each step', async (page) => {
  await open(page, '?lesson=why-queues-grow&step=1');
  await page.waitForSelector('#lesson');
  const h0 = await traceHash(page);
  await page.fill('#lesson-guess', '200');
  await page.click('#lesson-jump');
  await page.waitForFunction(() => document.querySelector('#lesson').dataset.revealed === 'true');
  const outcome = await page.textContent('#lesson-outcome');
  const m = outcome.match(/The run: ([0-9.]+) ms/);
  assert(m, `a number outcome in ms: ${outcome}`);
  const got = Number(m[1]);
  assert(got > 150 && got < 250, `M/M/1 at rho 0.5 is about 200 ms: ${got}`);
  assert(outcome.includes('✓ You said 200'), `200 is within 25%: ${outcome}`);
  const hEnd = await traceHash(page);
  await page.click('#lesson-next');
  await page.waitForFunction(() => document.querySelector('#lesson').dataset.step === '1');
  assert(!(await revealed(page)), 'the next step starts unrevealed');
  assert((await tUs(page)) === 0, 'step 2 starts its own preset at t = 0');
  await page.click('#lesson-back');
  await page.waitForFunction(() => document.querySelector('#lesson').dataset.step === '0');
  assert((await traceHash(page)) === h0, 'back restores the start of step 1 (same trace hash)');
  await page.click('#lesson-jump');
  await page.waitForFunction(() => document.querySelector('#lesson').dataset.revealed === 'true');
  assert((await traceHash(page)) === hEnd, 'running it again gives the same trace');
});

test('a continuing step starts where the previous one ended', async (page) => {
  await open(page, '?lesson=point-to-point-vs-pubsub&step=2');
  await page.waitForSelector('#lesson');
  assert((await tUs(page)) === 20_000_000, `step 2 continues step 1's run at 20 s, at ${await tUs(page)}`);
  await page.click('#lesson-jump');
  await page.waitForFunction(() => document.querySelector('#lesson').dataset.revealed === 'true');
  assert((await tUs(page)) === 30_000_000, 'and runs its own 10 s');
});

test('progress is kept across a reload and the link opens a step', async (page) => {
  await open(page, '?lesson=fan-out-fan-in&step=1');
  await page.waitForSelector('#lesson');
  await page.click('#lesson-jump');
  await page.waitForFunction(() => document.querySelector('#lesson').dataset.revealed === 'true');
  await page.click('#lesson-next');
  await page.waitForFunction(() => document.querySelector('#lesson').dataset.step === '1');
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']).catch(() => {});
  await page.click('#lesson-link');
  const note = await page.textContent('#lesson-link-note');
  assert(note.includes('?lesson=fan-out-fan-in&step=2'), `link to this step: ${note}`);
  await open(page);
  await page.click('#tab-lessons');
  const prog = await page.textContent('[data-lesson="fan-out-fan-in"] .progress');
  assert(prog.trim() === '1/2', `progress kept: ${prog}`);
  const href = note.slice(note.indexOf('http'));
  await page.goto(href);
  await page.waitForSelector('#lesson');
  assert((await stepIndex(page)) === 1, 'the link opens step 2');
});

test('narration is text, never HTML', async (page) => {
  await open(page, '?lesson=content-and-header-routing&step=1');
  await page.waitForSelector('#lesson');
  // The narration has `kern.critical` in code spans; nothing executes and no raw tags appear.
  const codes = await page.locator('#lesson-narration code').allTextContents();
  assert(codes.includes('kern.critical'), `code spans: ${codes}`);
  assert(await page.locator('#lesson-narration script, #lesson-narration img').count() === 0, 'no element from text');
});

test('presenter mode at 1024x640: the lesson sits beside a readable picture', async (page) => {
  await open(page, '?lesson=consumer-groups-and-lag&step=3&presenter=1');
  await page.waitForSelector('#lesson');
  const side = await page.locator('.lesson-side').boundingBox();
  const canvas = await page.locator('#topology').boundingBox();
  assert(side && canvas && side.x >= canvas.x + canvas.width - 1, 'the lesson column is beside the canvas, not over it');
  const run = await page.locator('#lesson-jump').boundingBox();
  assert(run && run.y + run.height <= 640, 'the step buttons are on screen');
  await page.click('[data-choice="0"]');
  await page.click('#lesson-jump');
  await page.waitForFunction(() => document.querySelector('#lesson').dataset.revealed === 'true');
  await shot(page, 'lesson-presenter-1024x640');
  const outcome = await page.textContent('#lesson-outcome');
  assert(outcome.includes('eager') && outcome.includes('✓'), `eager lags more: ${outcome}`);
}, { viewport: { width: 1024, height: 640 } });

test('every lesson plays first to last', async (page) => {
  await open(page);
  await page.click('#tab-lessons');
  const names = await page.$$eval('#lesson-picker .lesson-open', (bs) => bs.map((b) => b.dataset.lesson));
  assert(names.length >= 12, `${names.length} lessons`);
  for (const name of names) {
    await page.click('#lesson-all').catch(() => {});
    await page.click(`[data-lesson="${name}"]`);
    await page.waitForSelector('#lesson');
    const steps = Number((await page.textContent('.lesson-count')).match(/of (\d+)/)[1]);
    for (let i = 0; i < steps; i++) {
      await page.waitForFunction((i) => document.querySelector('#lesson').dataset.step === String(i), i);
      if (await page.locator('[data-choice="0"]').count()) await page.click('[data-choice="0"]');
      if (await page.locator('#lesson-guess').count()) await page.fill('#lesson-guess', '1');
      await page.click('#lesson-jump');
      await page.waitForFunction(() => document.querySelector('#lesson').dataset.revealed === 'true', null, { timeout: 60000 });
      assert(await page.locator('#lesson .error').count() === 0, `${name} step ${i + 1} has no error`);
      const outcome = await page.textContent('#lesson-outcome');
      assert(outcome.length > 10, `${name} step ${i + 1} shows an outcome`);
      if (i + 1 < steps) await page.click('#lesson-next');
    }
  }
  await page.click('#lesson-all');
  const done = await page.$$eval('#lesson-picker .progress', (ps) => ps.map((p) => p.textContent.trim()));
  assert(done.every((d) => d === '✓ done'), `every lesson marked done: ${done}`);
});

// ---------------------------------------------------------------- runner

await run('lesson');
