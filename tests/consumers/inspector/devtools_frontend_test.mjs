// The real Chrome DevTools front end (Debian's Chromium, its bundled js_app.html, headless,
// driven by playwright-core) attached to `proflab serve --inspect`, used the way a learner
// does: the Console evaluates, a click on a line number stops a jam there with its scope and
// call stack, the Memory panel takes a snapshot whose largest object is the leaked lab.Buffer,
// and the Performance panel records a jam whose bottom-up table names spin.
// usage: node devtools_frontend_test.mjs PROFLAB_BIN  (set PROFLAB_SHOTS=DIR to keep screenshots)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {startEngine, tap} from './engine.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, '..', 'node_modules');
const bin = process.argv[2];
const t = tap(), check = t.check;
let chromium;
try {
  ({chromium} = await import(path.join(modules, 'playwright-core', 'index.mjs')));
} catch (e) {
  console.error('tests/consumers/node_modules is missing: run `make test` or `npm ci` in tests/consumers');
  process.exit(1);
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'proflab-devtools-'));
const shots = process.env.PROFLAB_SHOTS;

const token = 'devtools-test-token';
const server = await startEngine(bin, work, token, ['--inspect', '127.0.0.1:0']);
const base = server.base, ws = server.ws && server.ws.replace(/^ws:\/\//, '');
if (!ws) { console.error(server.log()); process.exit(1); }
const lab = (route) => fetch(`${base}/api/lab/${route}`, {method: 'POST', headers: {'x-lab-token': token}}).then(r => r.json());

const udd = path.join(work, 'chromium');
const browser = await chromium.launchPersistentContext(udd, {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--no-first-run', '--remote-debugging-port=0'],
});
async function until(fn, ms) { /* polls fn until it returns a truthy value; that value, or the last */
  let v;
  for (const end = Date.now() + ms; Date.now() < end; await new Promise(r => setTimeout(r, 100))) if ((v = await fn())) return v;
  return v;
}
const shot = async (page, name) => { if (shots) await page.screenshot({path: path.join(shots, `${name}.png`)}); };
try {
  // a page cannot open devtools:// URLs; Chromium serves the same front end over its debugging port
  let port;
  for (let i = 0; i < 100 && !port; i++) {
    await new Promise(r => setTimeout(r, 100));
    try { port = fs.readFileSync(path.join(udd, 'DevToolsActivePort'), 'utf8').split('\n')[0]; } catch { /* not yet */ }
  }
  const page = await browser.newPage();
  await page.setViewportSize({width: 1400, height: 900});
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${port}/devtools/js_app.html?v8only=true&ws=${ws}`);
  await page.getByText('proflab Lua state').first().waitFor({timeout: 15000});
  check('the front end attaches and lists the Lua state as its context', true);

  // Console
  await page.locator('.console-prompt-editor-container').first().click();
  await page.keyboard.type('6 * 7');
  await page.keyboard.press('Enter');
  await page.locator('.console-user-command-result').filter({hasText: '42'}).first().waitFor({timeout: 5000});
  check('Console: 6 * 7 evaluates to 42 in Lua', true);
  await shot(page, 'console');

  // Sources: the scenario files, a breakpoint by a click on a line number
  await page.getByText('Sources', {exact: true}).first().click();
  await page.getByText('Open file', {exact: true}).first().waitFor({timeout: 5000});
  await page.keyboard.press('Control+P'); // Quick open, as a learner finds a file
  await page.keyboard.type('event-loop-jam');
  const item = page.locator('.filtered-list-widget-item', {hasText: 'event-loop-jam.lua'}).first();
  await item.waitFor({timeout: 5000});
  await item.click();
  await page.locator('.tabbed-pane-header-tab', {hasText: 'event-loop-jam.lua'}).first().waitFor({timeout: 5000});
  await page.getByText('memory-leak.lua').first().waitFor({timeout: 5000});
  check('Sources: Quick open finds the scenario; the navigator lists its neighbours', true);
  const source = fs.readFileSync(path.join(here, '..', '..', '..', 'scenarios', 'event-loop-jam.lua'), 'utf8').split('\n');
  const busy = source.findIndex(l => l.includes('x = 1 + 1 / x')) + 1;
  const gutter = page.locator('.cm-lineNumbers .cm-gutterElement', {hasText: new RegExp(`^${busy}$`)});
  await gutter.waitFor({timeout: 5000});
  await gutter.click();
  await page.locator('.cm-breakpoint').first().waitFor({timeout: 5000});
  check(`Sources: a click on line ${busy} sets a breakpoint (its marker shows)`, true);
  const answer = lab('event-loop-jam?ms=100');
  await page.getByText('Paused on breakpoint').waitFor({timeout: 10000});
  check('a jam stops on the breakpoint: "Paused on breakpoint"', true);
  const stack = await page.locator('.call-frame-item').allInnerTexts();
  check('the Call Stack shows spin at the busy line, called from run', stack.length >= 2 && /spin/.test(stack[0]) &&
        stack[0].includes(`event-loop-jam.lua:${busy}`), stack);
  const scopeText = async () => (await page.locator('.name-and-value').allInnerTexts()).join('\n');
  const scope = await until(async () => { const t = await scopeText(); return /deadline/.test(t) && t; }, 5000) || await scopeText();
  check('the Scope shows spin\'s locals (ms = 100)', /\bms\s*:\s*100\b/.test(scope) && /deadline/.test(scope), scope);
  await shot(page, 'paused');
  // the mouse on a name: DevTools asks for it without side effects, proflab reads it raw
  const msToken = page.locator('.cm-line', {hasText: 'local deadline = lab.now() + ms'}).locator('span', {hasText: /^ms$/}).first();
  const box = await msToken.boundingBox();
  await page.mouse.move(box.x + 2, box.y + box.height / 2);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, {steps: 5});
  const popover = await until(async () => {
    /* the popover shows the value alone, in monospace (the Scope pane's values are not) */
    const t = (await page.locator('.monospace.object-value-number').allInnerTexts()).join(' ');
    return /\b100\b/.test(t) && t;
  }, 5000);
  check('hovering ms in Sources shows its value (100)', !!popover, popover);
  await shot(page, 'hover');
  await gutter.click(); // the breakpoint off
  await page.keyboard.press('F8');
  const done = await Promise.race([answer, new Promise(r => setTimeout(() => r(null), 5000))]);
  check('Resume (F8) lets the request finish', done && done.jammedMs === 100, done);

  // Memory: a heap snapshot after a leak
  await lab('memory-leak?mb=16');
  await page.getByText('Memory', {exact: true}).first().click();
  await page.getByText('Take snapshot', {exact: true}).click();
  const row = page.locator('.data-grid-data-grid-node', {hasText: 'lab.Buffer'}).first();
  await row.waitFor({timeout: 30000});
  const rows = await page.locator('.data-grid-data-grid-node').allInnerTexts();
  check('Memory: the snapshot\'s Summary lists lab.Buffer', rows.some(r => r.includes('lab.Buffer')), rows.slice(0, 5));
  check('... holding the leaked 16 MiB (16,777 kB)', /16[,.\s]?777\s*kB/.test(await row.innerText()), await row.innerText());
  await shot(page, 'memory');
  await lab('memory-clear');

  // Performance: a recording of a jam
  await page.getByText('Performance', {exact: true}).first().click();
  await page.getByText('Record', {exact: true}).first().click();
  await page.getByText('Stop', {exact: true}).first().waitFor({timeout: 10000});
  await page.waitForTimeout(1000); /* the status dialog shows before Profiler.start is answered */
  await lab('event-loop-jam?ms=500');
  await page.getByText('Stop', {exact: true}).first().click();
  await page.getByText('Bottom-up', {exact: true}).first().waitFor({timeout: 30000});
  /* the flame chart's first-time shortcuts dialog covers the tabs: the click goes to the tab itself */
  const tab = page.getByText('Bottom-up', {exact: true}).first();
  for (const ev of ['mousedown', 'mouseup', 'click']) await tab.dispatchEvent(ev);
  const spinRow = page.locator('.data-grid-data-grid-node', {hasText: 'spin'}).first();
  await spinRow.waitFor({timeout: 10000});
  const spinText = await spinRow.innerText();
  check('Performance: the recording\'s Bottom-up table names spin with its file and line',
        /spin\s+event-loop-jam\.lua:6/.test(spinText), spinText);
  await shot(page, 'performance');
  check('no error in the front end', errors.length === 0, errors);
} catch (e) {
  check(`no exception (${e.message.split('\n')[0]})`, false, e.stack);
  const pages = browser.pages();
  if (pages.length && shots) await pages[pages.length - 1].screenshot({path: path.join(shots, 'failure.png')});
}
await browser.close();
server.child.kill('SIGTERM');
check('the engine stops cleanly (exit 0)', await server.exited === 0);
console.log(`# ${t.passed} passed, ${t.failed} failed`);
if (t.failed) console.log(server.log().split('\n').filter(l => !/scenario loaded/.test(l)).slice(-30).join('\n'));
fs.rmSync(work, {recursive: true, force: true});
process.exit(t.failed ? 1 : 0);
