// Ad-hoc screenshots while developing: node shot.mjs URL OUT.png [width height wait_ms]
const [url, out, w = '1280', h = '800', wait = '3000'] = process.argv.slice(2);
// The shared browser (lib.mjs); the URL given is the app, so no server is started.
process.env.BASE_URL ||= url;
const { browser } = await import('./lib.mjs');
const page = await browser.newPage({ viewport: { width: +w, height: +h } });
page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') console.log('console.' + m.type() + ':', m.text()); });
page.on('pageerror', e => console.log('pageerror:', e.message));
await page.goto(url);
await page.waitForTimeout(+wait);
await page.screenshot({ path: out });
await browser.close();
