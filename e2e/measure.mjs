// Measure frames per second with 1,000 and 5,000 tokens in flight, the
// effective speed (simulated s per wall s) of each case, and the wasm size
// (raw and gzip), on the release build in dist/.
//
//   e2e/build.sh && node e2e/measure.mjs        (serves dist/ itself)
//
// Tokens: `?bench_tokens=N` keeps N synthetic tokens moving along the edges on
// top of the running simulation (the app's normal drawing path). Frames are
// counted with requestAnimationFrame in the page over 5 s.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const wasm = fs.readdirSync(dist).find((f) => f.endsWith('.wasm'));
if (!wasm) { console.error('no .wasm in dist/: run e2e/build.sh first'); process.exit(1); }
const raw = fs.readFileSync(path.join(dist, wasm));
const gz = zlib.gzipSync(raw, { level: 9 });
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;

// dist/ served and the browser launched by lib.mjs (BASE_URL overrides the server).
const { BASE: base, browser, stopServer } = await import('./lib.mjs');

// `warmMs` before and `windowMs` of counting: fanout-large at 1000× reaches
// the end of its 60 s run within seconds, so that case counts early and briefly.
async function fps(query, label, warmMs = 1500, windowMs = 5000) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(base + query);
  await page.waitForSelector('#topology');
  await page.waitForTimeout(warmMs);
  const t0us = Number(await page.getAttribute('#app-root', 'data-t-us'));
  const w0 = Date.now();
  const frames = await page.evaluate((windowMs) => new Promise((resolve) => {
    let n = 0; const t0 = performance.now(); let worst = 0; let last = t0;
    function tick(t) { n++; worst = Math.max(worst, t - last); last = t; if (t - t0 < windowMs) requestAnimationFrame(tick); else resolve({ n, ms: t - t0, worst }); }
    requestAnimationFrame(tick);
  }), windowMs);
  const tokens = await page.getAttribute('#app-root', 'data-tokens');
  const throttled = await page.isVisible('#throttled');
  // Effective speed: simulated time advanced per wall-clock time over the window.
  const t1us = Number(await page.getAttribute('#app-root', 'data-t-us'));
  const eff = (t1us - t0us) / 1000 / (Date.now() - w0);
  console.log(`${label.padEnd(44)} ${(frames.n * 1000 / frames.ms).toFixed(1).padStart(5)} fps   worst frame ${frames.worst.toFixed(0)} ms   tokens drawn ${tokens}   effective speed ${eff.toFixed(1)}×${throttled ? '   (engine throttled)' : ''}`);
  await page.close();
}

console.log(`wasm ${wasm}: ${kib(raw.length)} raw, ${kib(gz.length)} gzip`);
await fps('?preset=work-queue&autoplay=1&speed=1&bench_tokens=1000', '1,000 tokens (work-queue, playing 1×)');
await fps('?preset=work-queue&autoplay=1&speed=1&bench_tokens=5000', '5,000 tokens (work-queue, playing 1×)');
await fps('?preset=fanout-large&autoplay=1&speed=1&bench_tokens=5000', '5,000 tokens (fanout-large, playing 1×)');
for (let i = 0; i < 3; i++) {
  await fps('?preset=fanout-large&autoplay=1&speed=1000', 'fanout-large at 1000× (first 1.5 s of play)', 300, 1500);
}
await browser.close();
stopServer();
