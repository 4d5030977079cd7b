// check.mjs FILE.cpuprofile T0_US T1_US [FILE.folded]: load a proflab profile with DevTools'
// CPUProfileDataModel and with Speedscope (its release bundle in headless Chromium), and check
// that the samples taken between T0 and T1 (a jam) sit on the jam's busy line; the folded
// stacks go through Speedscope's collapsed-stack importer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, '..', 'node_modules');
const [file, t0s, t1s, folded] = process.argv.slice(2);
const t0 = Number(t0s) / 1000, t1 = Number(t1s) / 1000; // ms, as DevTools counts
let failed = 0;
const ok = (name, cond, detail = '') => {
  console.log(`${cond ? 'ok' : 'not ok'} - ${name}${detail ? ` (${detail})` : ''}`);
  if (!cond) failed++;
};

async function load(name) {
  try {
    return await import(path.join(modules, ...name.split('/')));
  } catch (e) {
    console.error(`tests/consumers/node_modules is missing: run \`make test\` or \`npm ci\` in tests/consumers (${e.message})`);
    process.exit(1);
  }
}

const text = fs.readFileSync(file, 'utf8');
const profile = JSON.parse(text);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'proflab-cpu-'));

// DevTools
const esbuild = await load('esbuild/lib/main.js');
const out = path.join(tmp, 'devtools.mjs');
await esbuild.build({entryPoints: [path.join(here, 'devtools_entry.ts')], bundle: true, platform: 'node', format: 'esm',
                     outfile: out, logLevel: 'error', nodePaths: [modules]});
const {CPUProfileDataModel} = await import(out);
const complaints = [];
for (const k of ['warn', 'error']) {
  const orig = console[k];
  console[k] = (...a) => { complaints.push(a.join(' ')); orig(...a); };
}
const model = new CPUProfileDataModel(structuredClone(profile));
ok('DevTools loads the profile without a warning', complaints.length === 0, complaints.join('; '));
// DevTools adds one timestamp past the last sample, for its duration
ok('DevTools: one timestamp per sample', model.samples.length === profile.samples.length &&
   model.timestamps.length === model.samples.length + 1);
ok('DevTools: timestamps never go back', model.timestamps.every((t, i) => i === 0 || t >= model.timestamps[i - 1]));
const topLevel = new Set(profile.nodes[0].children.map(id => profile.nodes.find(n => n.id === id).callFrame.functionName));
ok('DevTools: finds the (idle) node', !!model.idleNode);
ok('DevTools: finds the (program) node when there is one', !!model.programNode === topLevel.has('(program)'));
let inside = 0, busy = 0;
const spinNodes = new Set();
for (let i = 0; i < model.samples.length; i++) {
  const t = model.timestamps[i];
  if (t < t0 || t > t1) continue;
  inside++;
  const node = model.nodeByIndex(i);
  if (node && node.functionName === 'spin' && node.url.endsWith('/event-loop-jam.lua')) busy++, spinNodes.add(node);
}
ok('DevTools: the jam window holds samples', inside > 1000, `${inside}`);
ok('DevTools: spin holds at least 90% of the jam window', busy >= 0.9 * inside, `${busy}/${inside}`);
const lines = new Map();
for (const n of spinNodes) for (const pt of n.positionTicks || []) lines.set(pt.line, (lines.get(pt.line) || 0) + pt.ticks);
const all = [...lines.values()].reduce((a, b) => a + b, 0);
const src = fs.readFileSync(fileURLToPath([...spinNodes][0]?.url || 'file:///dev/null'), 'utf8').split('\n');
const busyLine = src.findIndex(l => l.includes('x = 1 + 1 / x')) + 1;
ok('DevTools: spin is defined where the file says', [...spinNodes].every(n => src[n.callFrame.lineNumber].includes('function spin')));
ok(`DevTools: the busy line (${busyLine}) holds at least 90% of spin's line ticks`, (lines.get(busyLine) || 0) >= 0.9 * all,
   `${lines.get(busyLine)}/${all}`);
ok('DevTools: the root total is the profile length', Math.abs(model.root.total - (model.profileEndTime - model.profileStartTime)) < 50,
   `${model.root.total} vs ${model.profileEndTime - model.profileStartTime}`);

// Speedscope, in headless Chromium: its own importer, then its Sandwich (self time) table
const {chromium} = await load('playwright-core/index.mjs');
const browser = await chromium.launch({executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run']});
try {
  // one Speedscope page per file, opened the way Speedscope opens a local file
  // (#localProfilePath: a script that hands the file over); resolves to the Sandwich table text
  async function speedscope(name, text, expectLog) {
    const page = await browser.newPage();
    const logs = [], dialogs = [];
    page.on('console', m => logs.push(m.text()));
    page.on('dialog', d => { dialogs.push(d.message()); d.dismiss(); });
    const loader = path.join(tmp, `load-${path.extname(name).slice(1)}.js`);
    fs.writeFileSync(loader, `speedscope.loadFileFromBase64(${JSON.stringify(name)}, ` +
                     `${JSON.stringify(Buffer.from(text).toString('base64'))});`);
    await page.goto('file://' + path.join(modules, 'speedscope', 'dist', 'release', 'index.html') +
                    '#localProfilePath=' + loader.slice(1));
    await page.waitForFunction(() => document.body.innerText.includes('Sandwich'), null, {timeout: 20000});
    ok(`Speedscope imports ${path.extname(name)} ${expectLog}`, logs.some(l => l.includes(expectLog)),
       logs.filter(l => l.includes('Import')).join(' | '));
    ok(`Speedscope raises no error on ${path.extname(name)}`, dialogs.length === 0 && !logs.some(l => l.includes('Failed to load')),
       dialogs.join(' | '));
    await page.getByText('Sandwich').first().click();
    await page.waitForFunction(() => document.body.innerText.includes('Symbol Name'), null, {timeout: 10000});
    return page.evaluate(() => document.body.innerText);
  }

  const rows = await speedscope(path.basename(file), text, 'Importing as Chrome CPU Profile');
  // rows read "total (share) self (share) name"; Speedscope leaves (idle) out of its totals
  const m = rows.match(/([\d.]+)(ns|µs|ms|s) \(([^)]*)\)\s+([\d.]+)(ns|µs|ms|s) \(([^)]*)\)\s+spin\n/);
  ok('Speedscope lists spin in its Sandwich table', !!m, rows.slice(0, 400).replace(/\n/g, ' | '));
  if (m) {
    const unit = {ns: 1e-6, 'µs': 1e-3, ms: 1, s: 1000};
    const selfMs = Number(m[4]) * unit[m[5]];
    const spinHits = profile.nodes.filter(n => n.callFrame.functionName === 'spin').reduce((a, n) => a + n.hitCount, 0);
    const expectMs = spinHits * (profile.endTime - profile.startTime) / 1000 / profile.samples.length;
    ok("Speedscope's self time of spin matches the file's", Math.abs(selfMs - expectMs) <= 0.05 * expectMs,
       `${selfMs.toFixed(1)} ms vs ${expectMs.toFixed(1)} ms`);
    const names = rows.split('Symbol Name')[1].split('\n').map(l => l.trim()).filter(l => l && !/\(([<>]?[\d.]+%)\)$/.test(l));
    ok('Speedscope: spin comes first in the Sandwich table', names[0] === 'spin', names.slice(0, 3).join(', '));
  }

  if (folded) {
    // folded: counts as weights; spin's self share must be its count over the total
    const lines = fs.readFileSync(folded, 'utf8').trim().split('\n');
    const count = l => Number(l.slice(l.lastIndexOf(' ') + 1));
    const total = lines.reduce((a, l) => a + count(l), 0);
    const spinCount = lines.filter(l => /;spin \(event-loop-jam\.lua:\d+\) \d+$/.test(l)).reduce((a, l) => a + count(l), 0);
    ok('folded counts sum to the sample count', total === profile.samples.length, `${total} vs ${profile.samples.length}`);
    const frows = await speedscope(path.basename(folded), fs.readFileSync(folded, 'utf8'), 'Importing as collapsed stack format');
    const fm = frows.match(/\(([\d.]+)%\)\s+spin \(event-loop-jam\.lua:\d+\)\n/);
    ok('Speedscope lists spin (event-loop-jam.lua) from the folded file', !!fm, frows.slice(0, 300).replace(/\n/g, ' | '));
    if (fm) ok("Speedscope's self share of spin matches the folded counts", Math.abs(Number(fm[1]) - 100 * spinCount / total) < 1,
               `${fm[1]}% vs ${(100 * spinCount / total).toFixed(1)}%`);
  }
} finally {
  await browser.close();
  fs.rmSync(tmp, {recursive: true, force: true});
}
console.log(failed ? `${failed} failed` : 'all passed');
process.exit(failed ? 1 : 0);
