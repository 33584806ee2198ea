// End-to-end tests of the sweep panel: a what-if grid run in a web worker
// while the simulation keeps playing, plotted with 95% intervals, and the
// same numbers as `queuelab sweep` for the same request.
//
//   BASE_URL=http://127.0.0.1:PORT/ SHOTS=../target/screenshots QUEUELAB=../target/debug/queuelab node sweep-tests.mjs
import {
  test, run, open, sleep, assert, shot, tUs, play, pause, SHOTS, browser, BASE,
} from './lib.mjs';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const CLI = process.env.QUEUELAB || path.resolve('../target/debug/queuelab');

async function runSweep(page) {
  await page.click('#sweep-run');
  await page.waitForSelector('#sweep-answer, #sweep-error', { timeout: 120000 });
}

test('the sweep panel answers "how many consumers?" in a worker, as the CLI does', async (page) => {
  await open(page, '?preset=mm1');
  await page.click('#tab-sweep');
  await page.waitForSelector('#sweep-panel');
  assert((await page.inputValue('#sweep-path')) === 'consumers[0].instances', 'the field is suggested from the scenario');
  // A value the field cannot take is refused, naming the point.
  await page.fill('#sweep-spec', 'many');
  await runSweep(page);
  const err = await page.textContent('#sweep-error');
  assert(err.includes('consumers[0].instances=many'), err);
  // 1..3 consumers, 3 seeds, 20 s each; the simulation plays meanwhile.
  await page.fill('#sweep-spec', '1..3');
  await page.fill('#sweep-seeds', '3');
  await page.fill('#sweep-for', '20');
  await play(page);
  const t0 = await tUs(page);
  await page.click('#sweep-run');
  await page.waitForSelector('#sweep-answer', { timeout: 120000 });
  const t1 = await tUs(page);
  assert(t1 > t0, `the simulation kept playing while the worker ran (${t0} -> ${t1} µs)`);
  await pause(page);
  const rows = await page.$$eval('#sweep-table tr', (trs) => trs.slice(1).map((tr) => [...tr.children].map((td) => td.textContent)));
  assert(rows.length === 3 && rows[0][0] === '1' && rows[2][0] === '3', JSON.stringify(rows));
  const means = rows.map((r) => parseFloat(r[1]));
  assert(means[0] > means[1] && means[1] >= means[2], `mean latency falls as consumers are added: ${means}`);
  assert(await page.$eval('#sweep-plot', (img) => img.complete && img.naturalWidth > 0), 'the plot is drawn');
  await shot(page, 'sweep-panel');
  // The panel's CSV equals the CLI's column for the same request.
  const [d] = await Promise.all([page.waitForEvent('download'), page.click('#sweep-csv')]);
  const file = path.join(SHOTS, 'sweep-' + d.suggestedFilename());
  await d.saveAs(file);
  const panel = fs.readFileSync(file, 'utf8').trim().split('\n');
  const cliCsv = path.join(SHOTS, 'sweep-cli.csv');
  execFileSync(CLI, ['sweep', 'mm1', '--set', 'consumers[0].instances=1..3', '--seeds', '3', '--seed', '1',
    '--metric', 'latency_us.end_to_end.mean', '--until', '20s', '--csv', cliCsv], { encoding: 'utf8' });
  const cli = fs.readFileSync(cliCsv, 'utf8').trim().split('\n');
  const col = (lines, name) => {
    const head = lines[0].split(',');
    const i = head.indexOf(name);
    assert(i >= 0, `${name} in ${head}`);
    return lines.slice(1).map((l) => l.split(',')[i]);
  };
  const m = 'latency_us.end_to_end.mean:mean';
  assert(JSON.stringify(col(panel, m)) === JSON.stringify(col(cli, m)),
    `panel ${col(panel, m)} vs CLI ${col(cli, m)}`);
});

test('the sweep panel reads at a projector size', async () => {
  const page = await browser.newPage({ viewport: { width: 1024, height: 640 } });
  try {
    await page.goto(BASE + '?preset=work-queue');
    // A projector starts with the side panel folded: open it as a user would.
    await page.waitForSelector('#show-side');
    await page.click('#show-side');
    await page.waitForSelector('#tab-sweep');
    await page.click('#tab-sweep');
    await page.fill('#sweep-seeds', '2');
    await page.fill('#sweep-for', '10');
    await page.click('#sweep-run');
    await page.waitForSelector('#sweep-answer', { timeout: 120000 });
    const box = await page.$eval('#sweep-plot', (el) => el.getBoundingClientRect().width);
    assert(box >= 250, `the plot is ${box} px wide`);
    await shot(page, 'sweep-panel-1024');
  } finally {
    await page.close();
  }
});

// ---------------------------------------------------------------- runner

await run('sweep');
