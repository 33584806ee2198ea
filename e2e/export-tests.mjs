// End-to-end tests of the Export menu: the topology as SVG, the picture as
// PNG, the time series as CSV and the trace as JSON lines, each a download
// whose content matches the app's state.
//
//   BASE_URL=http://127.0.0.1:PORT/ SHOTS=../target/screenshots node export-tests.mjs
import {
  test, run, open, sleep, assert, shot, total, tUs, play, pause, SHOTS,
} from './lib.mjs';
import fs from 'node:fs';
import path from 'node:path';

// ---------------------------------------------------------------- tests

async function download(page, kind) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.selectOption('#export', kind)]);
  const file = path.join(SHOTS, 'export-' + d.suggestedFilename());
  await d.saveAs(file);
  return { name: d.suggestedFilename(), text: fs.readFileSync(file, kind === 'png' ? null : 'utf8') };
}

test('the export menu downloads SVG, PNG, CSV and JSON lines that match the run', async (page) => {
  await open(page, '?preset=topic-routing');
  await play(page);
  await sleep(1500);
  await pause(page);
  const svg = await download(page, 'svg');
  assert(svg.name === 'topic-routing.svg', svg.name);
  assert(svg.text.startsWith('<svg') && svg.text.includes('>alerts<') && svg.text.includes('kern.#'), 'nodes and binding keys in the SVG');
  const png = await download(page, 'png');
  assert(png.text.slice(1, 4).toString() === 'PNG' && png.text.length > 5000, 'a PNG of the canvas');
  const csv = await download(page, 'csv');
  const rows = csv.text.trim().split('\n');
  assert(rows[0].startsWith('t_s,published') && rows[0].includes('depth:alerts'), rows[0]);
  assert(rows.length >= 2, 'at least one sample');
  const trace = await download(page, 'jsonl');
  const lines = trace.text.trim().split('\n').map((l) => JSON.parse(l));
  const published = await total(page, 't-published');
  assert(lines.filter((e) => e.kind === 'published').length === published, `one published line per publish (${published})`);
  assert(lines.every((e, i) => e.seq === lines[0].seq + i), 'seq numbers are contiguous');
  assert((await page.$eval('#export', (el) => el.value)) === '', 'the menu resets to its label');
});

// ---------------------------------------------------------------- runner

await run('export');
