// Browser tests of the topology builder and the JSON editor (issue 7 §5):
// build the work-queue preset from an empty canvas with the mouse and get the
// preset's trace hash; undo, redo and delete; a bad field's path-named error;
// an editor error that names and jumps to its line. Screenshots of the
// builder at 1366×768 and 1024×640 go to $SHOTS (builder-*.png).
//
//   BASE_URL=http://127.0.0.1:PORT/ SHOTS=../target/screenshots node builder-tests.mjs
//   (without BASE_URL a server over dist/ is started; DIST=dir picks another build)
import {
  test, run, open, sleep, assert, shot, attr, hash, play, pause, seekMs, setSpeed, nodePos, points, clickNode,
} from './lib.mjs';

const nodes = async (page) => points(await page.getAttribute('#topology', 'data-nodes'));
const ids = async (page) => [...(await nodes(page)).keys()].sort();

/** Press, move in steps, release: what a hand does. */
async function drag(page, from, to, midShot = '') {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  for (let k = 1; k <= 10; k++) {
    await page.mouse.move(from.x + ((to.x - from.x) * k) / 10, from.y + ((to.y - from.y) * k) / 10);
    await sleep(15);
  }
  if (midShot) await shot(page, midShot);
  await page.mouse.up();
  await sleep(200);
}

/** Drag a part from the palette to canvas point (fx, fy) given as fractions. */
async function dropPart(page, part, fx, fy, midShot = '') {
  const before = await ids(page);
  const b = await page.locator(`#palette-${part}`).boundingBox();
  const c = await page.locator('#topology').boundingBox();
  await drag(page, { x: b.x + b.width / 2, y: b.y + b.height / 2 }, { x: c.x + c.width * fx, y: c.y + c.height * fy }, midShot);
  const after = await ids(page);
  const added = after.filter((id) => !before.includes(id));
  assert(added.length === 1, `dropping a ${part} adds one node (before ${before}, after ${after}; ${await note(page)})`);
  return added[0];
}

/** Drag from `from`'s connect handle onto node `to`. */
async function connect(page, from, to, midShot = '') {
  const c = await page.locator('#topology').boundingBox();
  const h = points(await page.getAttribute('#topology', 'data-handles')).get(from);
  assert(h, `${from} has a connect handle`);
  const t = await nodePos(page, to);
  await drag(page, { x: c.x + h.x, y: c.y + h.y }, { x: c.x + t.x, y: c.y + t.y }, midShot);
  const n = await note(page);
  assert(/Linked/.test(n), `linking ${from} → ${to}: ${n}`);
}

const note = async (page) => (await page.$('#build-error')) ? 'error: ' + await page.textContent('#build-error')
  : (await page.$('#build-note')) ? await page.textContent('#build-note') : '(no note)';

/** Type into the selected node's property field, as a user does, and leave it. */
async function typeField(page, name, value) {
  const sel = `#prop-${name}`;
  await page.click(sel);
  await page.keyboard.press('Control+A');
  await page.keyboard.type(value);
  await page.keyboard.press('Tab');
  await sleep(150);
}

async function select(page, id) {
  await clickNode(page, id);
  assert((await page.textContent('#inspector-title')) === id, `${id} selected`);
}

async function startEmpty(page) {
  await open(page, '?preset=work-queue');
  await pause(page);
  await page.click('#build-toggle');
  await page.click('#build-new');
  await sleep(200);
  assert((await ids(page)).length === 0, 'New gives an empty canvas');
}

async function buildWorkQueue(page, shots = '') {
  await startEmpty(page);
  if (shots) await shot(page, `builder-empty-${shots}`);
  const x = await dropPart(page, 'exchange', 0.4, 0.45);
  await typeField(page, 'id', 'work');
  const q = await dropPart(page, 'queue', 0.6, 0.45);
  await typeField(page, 'id', 'task-queue');
  assert(x === 'exchange-1' && q === 'queue-1', `fresh ids ${x}, ${q}`);
  assert((await ids(page)).join() === 'task-queue,work', `renamed: ${await ids(page)}`);
  await connect(page, 'work', 'task-queue');
  // The link selected the exchange; its binding key stays empty, as in the preset.
  assert((await page.$$('#bindings-edit .binding')).length === 1, 'one binding listed');
  await dropPart(page, 'producer', 0.15, 0.45);
  await typeField(page, 'id', 'tasks');
  await connect(page, 'tasks', 'work');
  await select(page, 'tasks');
  await typeField(page, 'rate', '40/s');
  await typeField(page, 'keys', '{"random_of_n": 20}');
  await dropPart(page, 'consumer', 0.85, 0.45, shots && `builder-dropping-${shots}`);
  await typeField(page, 'id', 'workers');
  await connect(page, 'task-queue', 'workers', shots && `builder-connecting-${shots}`);
  await select(page, 'workers');
  await typeField(page, 'instances', '3');
  await typeField(page, 'prefetch', '2');
  await page.selectOption('#prop-service-kind', 'log_normal');
  await sleep(150);
  await typeField(page, 'service-a', '45ms');
  await typeField(page, 'service-b', '0.4');
  assert(!(await page.$('#build-error')), `no builder error: ${await note(page)}`);
  if (shots) await shot(page, `builder-built-${shots}`);
}

/** Run past `ms`, then seek back to it: the trace hash at exactly that time. */
async function hashAt(page, ms) {
  await setSpeed(page, 50);
  await play(page);
  await page.waitForFunction((us) => Number(document.querySelector('#app-root').dataset.tUs) > us, ms * 1000 + 500_000);
  await pause(page);
  await seekMs(page, ms);
  assert(Number(await attr(page, 'data-t-us')) === ms * 1000, `at ${ms} ms (${await attr(page, 'data-t-us')} µs)`);
  return hash(page);
}

test('build the work-queue preset by mouse: same trace hash as the preset', async (page) => {
  await open(page, '?preset=work-queue');
  const want = await hashAt(page, 5000);

  await buildWorkQueue(page, '1366');
  assert((await ids(page)).join() === 'task-queue,tasks,work,workers', `four nodes: ${await ids(page)}`);
  // The JSON editor shows the same scenario.
  await page.click('#tab-scenario');
  const json = JSON.parse(await page.inputValue('#scenario-editor'));
  assert(json.consumers[0].prefetch === 2 && json.producers[0].to === 'work', 'editor shows the built scenario');
  assert(json.exchanges[0].bindings[0].queue === 'task-queue', 'the binding is in the JSON');
  const got = await hashAt(page, 5000);
  assert(got === want, `built ${got} vs preset ${want} at 5 s`);
}, { viewport: { width: 1366, height: 768 } });

test('undo, redo and delete', async (page) => {
  await startEmpty(page);
  await dropPart(page, 'exchange', 0.35, 0.5);
  await dropPart(page, 'queue', 0.65, 0.5);
  await connect(page, 'exchange-1', 'queue-1');
  await dropPart(page, 'consumer', 0.85, 0.5);
  assert((await ids(page)).join() === 'consumer-1,exchange-1,queue-1', 'three nodes');
  // Delete the queue with the Delete key: its consumer goes with it.
  await select(page, 'queue-1');
  await page.locator('#topology').focus();
  await page.keyboard.press('Delete');
  await sleep(200);
  assert((await ids(page)).join() === 'exchange-1', `queue and its consumer deleted: ${await ids(page)}`);
  assert(/consumer-1/.test(await note(page)), `the note names what went with it: ${await note(page)}`);
  // Ctrl+Z brings both back, with the binding; Ctrl+Shift+Z deletes again.
  await page.keyboard.press('Control+z');
  await sleep(200);
  assert((await ids(page)).join() === 'consumer-1,exchange-1,queue-1', `undo restores: ${await ids(page)}`);
  await page.click('#tab-scenario');
  assert(JSON.parse(await page.inputValue('#scenario-editor')).exchanges[0].bindings.length === 1, 'binding restored');
  await page.click('#tab-inspect');
  await page.keyboard.press('Control+Shift+Z');
  await sleep(200);
  assert((await ids(page)).join() === 'exchange-1', `redo deletes again: ${await ids(page)}`);
  // The buttons do the same; undo twice more removes the consumer, then the binding.
  await page.click('#build-undo');
  await page.click('#build-undo');
  await sleep(150);
  assert((await ids(page)).join() === 'exchange-1,queue-1', `undo by button: ${await ids(page)}`);
  await page.click('#build-redo');
  await sleep(150);
  assert((await ids(page)).join() === 'consumer-1,exchange-1,queue-1', `redo by button: ${await ids(page)}`);
  // The Delete button removes the selected node.
  await select(page, 'consumer-1');
  await page.click('#build-delete');
  await sleep(150);
  assert((await ids(page)).join() === 'exchange-1,queue-1', `delete button: ${await ids(page)}`);
});

test('an invalid property shows its path and changes nothing', async (page) => {
  await startEmpty(page);
  await dropPart(page, 'queue', 0.5, 0.4);
  await dropPart(page, 'consumer', 0.7, 0.4);
  await typeField(page, 'prefetch', '0');
  const err = await page.textContent('#prop-error');
  assert(err.includes('consumers[0].prefetch') && err.includes('at least 1'), `path-named error: ${err}`);
  assert(await page.$('#prop-prefetch.bad'), 'the field is marked');
  await page.click('#tab-scenario');
  const json = JSON.parse(await page.inputValue('#scenario-editor'));
  assert(json.consumers[0].prefetch === 1, `the scenario kept prefetch 1: ${json.consumers[0].prefetch}`);
  await page.click('#tab-inspect');
  await typeField(page, 'service-a', 'fast');
  const err2 = await page.textContent('#prop-error');
  assert(err2.includes('consumers[0].service'), `service error names its path: ${err2}`);
  // A valid value clears it.
  await typeField(page, 'prefetch', '5');
  assert(!(await page.$('#prop-error')), 'a valid edit clears the error');
  // A link the kinds do not allow is refused with a reason.
  const c = await page.locator('#topology').boundingBox();
  const h = points(await page.getAttribute('#topology', 'data-handles')).get('consumer-1');
  const t = await nodePos(page, 'queue-1');
  await drag(page, { x: c.x + h.x, y: c.y + h.y }, { x: c.x + t.x, y: c.y + t.y });
  assert(/consumes from/.test(await note(page)), `consumer → queue is consumes-from: ${await note(page)}`);
});

test('an editor error names its line and the caret goes there', async (page) => {
  await open(page, '?preset=work-queue');
  await page.click('#tab-scenario');
  const text = await page.inputValue('#scenario-editor');
  const bad = text.replace('"prefetch": 2', '"prefetch": 0');
  assert(bad !== text, 'the preset text has a prefetch to break');
  await page.fill('#scenario-editor', bad);
  await page.click('#editor-apply');
  await sleep(300);
  const line = bad.slice(0, bad.indexOf('"prefetch": 0')).split('\n').length;
  const btn = await page.$('#editor-errors .err-line');
  assert(btn, 'the problem names a line');
  assert(Number(await btn.getAttribute('data-line')) === line, `line ${await btn.getAttribute('data-line')} vs ${line}`);
  const caretLine = async () => page.$eval('#scenario-editor', (t) => t.value.slice(0, t.selectionStart).split('\n').length);
  assert((await caretLine()) === line, `after Apply the caret is on line ${line} (at ${await caretLine()})`);
  assert(await page.$(`#ln-${line}.err`), 'the line is marked in the gutter');
  // Move the caret away, click the error: it comes back.
  await page.$eval('#scenario-editor', (t) => t.setSelectionRange(0, 0));
  await btn.click();
  assert((await caretLine()) === line, 'a click on the error puts the caret on its line');
  // The editor keeps its room: the charts fold while it shows, and far
  // more than three lines are visible with an error listed.
  const lineH = 13 * 1.5;
  const h = await page.$eval('#scenario-editor', (t) => t.clientHeight);
  assert(h > 20 * lineH, `the editor keeps ${h}px (${(h / lineH).toFixed(1)} lines) with an error shown`);
  assert(!(await page.isVisible('#chart-throughput')), 'the charts folded');
  // Show the charts: the editor shares the height and still shows 8+ lines.
  await page.click('#editor-room');
  await sleep(200);
  const shared = await page.$eval('#scenario-editor', (t) => t.clientHeight);
  assert(await page.isVisible('#chart-throughput'), 'the charts are back');
  assert(shared > 8 * lineH && shared < h, `sharing: ${h}px → ${shared}px`);
  await page.click('#editor-room');
  // A syntax error names its line too.
  const broken = text.replace('"seed": 1,', '"seed": 1,,');
  await page.fill('#scenario-editor', broken);
  await page.click('#editor-apply');
  await sleep(300);
  const l2 = broken.slice(0, broken.indexOf(',,')).split('\n').length;
  const b2 = Number(await page.getAttribute('#editor-errors .err-line', 'data-line'));
  assert(Math.abs(b2 - l2) <= 1, `syntax error at line ${b2}, near ${l2}`);
  await shot(page, 'builder-editor-error');
}, { viewport: { width: 1366, height: 768 } });

test('a headers exchange edits its bindings\' headers and x-match', async (page) => {
  await startEmpty(page);
  await dropPart(page, 'exchange', 0.35, 0.5);
  await dropPart(page, 'queue', 0.65, 0.5);
  await connect(page, 'exchange-1', 'queue-1');
  await page.selectOption('#prop-kind', 'headers');
  await sleep(200);
  await page.fill('#bindings-edit .binding-headers', '{"format": "pdf"}');
  await page.keyboard.press('Tab');
  await sleep(150);
  await page.selectOption('#bindings-edit .binding-xmatch', 'any');
  await sleep(150);
  await page.click('#tab-scenario');
  const b = JSON.parse(await page.inputValue('#scenario-editor')).exchanges[0];
  assert(b.kind === 'headers', `kind ${b.kind}`);
  assert(b.bindings[0].headers.format === 'pdf' && b.bindings[0].x_match === 'any', `binding ${JSON.stringify(b.bindings[0])}`);
});

test('builder screenshots at 1024×640', async (page) => {
  await buildWorkQueue(page, '1024');
  await select(page, 'work');
  await shot(page, 'builder-exchange-1024');
  await page.click('#theme');
  await sleep(200);
  await shot(page, 'builder-dark-1024');
}, { viewport: { width: 1024, height: 640 } });

await run('builder');
