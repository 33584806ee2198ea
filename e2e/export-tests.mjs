// End-to-end tests of the Export menu: the topology as SVG, the picture as
// PNG, the time series as CSV and the trace as JSON lines, each a download
// whose content matches the app's state; and a span as an animated GIF.
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

async function renderGif(page, from, to, speed) {
  if (!(await page.$('#gif-dialog'))) await page.selectOption('#export', 'gif');
  await page.fill('#gif-from', String(from));
  await page.fill('#gif-to', String(to));
  await page.fill('#gif-speed', String(speed));
  const [d] = await Promise.all([page.waitForEvent('download', { timeout: 120000 }), page.click('#gif-start')]);
  const file = path.join(SHOTS, 'export-' + d.suggestedFilename());
  await d.saveAs(file);
  return { name: d.suggestedFilename(), file, bytes: fs.readFileSync(file) };
}

// Decode frames of a GIF in the browser (WebCodecs' ImageDecoder) and save
// them as PNGs to look at; returns the frame count.
async function gifFrames(page, bytes, frames, prefix) {
  const b64 = bytes.toString('base64');
  const out = await page.evaluate(async ({ b64, frames }) => {
    const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dec = new ImageDecoder({ data, type: 'image/gif' });
    await dec.tracks.ready;
    const count = dec.tracks.selectedTrack.frameCount;
    const urls = [];
    for (const k of frames) {
      const { image } = await dec.decode({ frameIndex: Math.min(k, count - 1) });
      const c = document.createElement('canvas');
      c.width = image.displayWidth; c.height = image.displayHeight;
      c.getContext('2d').drawImage(image, 0, 0);
      image.close();
      urls.push(c.toDataURL('image/png'));
    }
    return { count, urls };
  }, { b64, frames });
  out.urls.forEach((u, i) => fs.writeFileSync(path.join(SHOTS, `${prefix}-frame${frames[i]}.png`),
    Buffer.from(u.split(',')[1], 'base64')));
  return out.count;
}

test('an animation of a span is a GIF rendered from the engine: same span, same bytes', async (page) => {
  await open(page, '?preset=topic-routing');
  await play(page);
  await sleep(800);
  await pause(page);
  await page.selectOption('#export', 'gif');
  await page.waitForSelector('#gif-dialog');
  await shot(page, 'export-gif-dialog');
  // A bad span is refused with a message naming the field.
  await page.fill('#gif-from', '3');
  await page.fill('#gif-to', '1');
  await page.click('#gif-start');
  const err = await page.textContent('#gif-error');
  assert(err.includes('to') && err.includes('after from'), err);
  await page.fill('#gif-speed', 'fast');
  await page.fill('#gif-to', '4');
  await page.click('#gif-start');
  assert((await page.textContent('#gif-error')).includes('speed'), 'speed error names the field');
  // 1 s .. 3 s at 1×: 21 frames of 960 × 540.
  const a = await renderGif(page, 1, 3, 1);
  assert(a.name === 'topic-routing-1000ms-3000ms.gif', a.name);
  assert(a.bytes.subarray(0, 6).toString() === 'GIF89a', 'a GIF89a file');
  assert(a.bytes.readUInt16LE(6) === 960 && a.bytes.readUInt16LE(8) === 540, 'a 960 × 540 picture');
  const done = await page.textContent('#gif-done');
  assert(done.includes('21 frames'), done);
  // The live session moves on; the same span renders to the same bytes.
  await play(page);
  await sleep(700);
  await pause(page);
  const b = await renderGif(page, 1, 3, 1);
  assert(Buffer.compare(a.bytes, b.bytes) === 0, 'the same span gives the same file');
  const count = await gifFrames(page, a.bytes, [0, 10, 20], 'export-gif');
  assert(count >= 2 && count <= 21, `frames in the file: ${count}`);
  await page.click('#gif-close');
  assert(!(await page.$('#gif-dialog')), 'the dialog closes');
});

// ---------------------------------------------------------------- runner

await run('export');
