// inspector.mjs: what a DevTools session costs the code it watches, proflab beside node --inspect
// in one run. The same work on both sides (scripts/bench/scenarios/bench-cpu.lua and
// scripts/bench/cpu-work.js: recursive calls, tables, strings, a tight loop) is timed inside the
// process, median of RUNS, under four states of a session attached with chrome-remote-interface:
//   none          no session
//   attached      Runtime and Debugger enabled
//   bp elsewhere  a breakpoint in another function (event-loop-jam.lua's busy line; a function
//                 of cpu-work.js that the work never calls)
//   bp inside     a breakpoint in the working function, on a line that never runs
// Prints the milliseconds and the ratio to "none" for each side.
// usage: node inspector.mjs PROFLAB_BIN ROOT RUNS ROUNDS
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [bin, root, runsText, roundsText] = process.argv.slice(2);
const runs = Number(runsText), rounds = Number(roundsText);
let CDP;
try {
  CDP = (await import(path.join(root, 'tests', 'consumers', 'node_modules', 'chrome-remote-interface', 'index.js'))).default;
} catch (e) {
  console.error('inspector.sh: chrome-remote-interface is missing: run `npm ci` in tests/consumers (make test does)');
  process.exit(2);
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'proflab-bench-insp-'));
const children = [];
process.on('exit', () => { for (const c of children) c.kill('SIGTERM'); fs.rmSync(work, {recursive: true, force: true}); });

// Starts a process and resolves when its output (stdout or stderr) matches every pattern.
function launch(cmd, args, env, patterns) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']});
    children.push(child);
    let text = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start: ${text.slice(-500)}`)), 15000);
    const on = d => {
      text += d;
      const m = patterns.map(p => p.exec(text));
      if (m.every(Boolean)) { clearTimeout(timer); resolve(m.map(x => x[1])); }
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.on('exit', code => reject(new Error(`${cmd} exited ${code}: ${text.slice(-500)}`)));
  });
}

const median = a => [...a].sort((x, y) => x - y)[a.length >> 1];

async function measure(side) {
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await side.run());
  return median(times);
}

async function attach(port, match) {
  const client = await CDP({host: '127.0.0.1', port, local: true});
  const scripts = [];
  client.Debugger.scriptParsed(p => scripts.push(p));
  client.Debugger.paused(() => client.Debugger.resume()); // nothing here should stop
  await client.Runtime.enable();
  await client.Debugger.enable();
  await new Promise(r => setTimeout(r, 200));
  return {client, script: re => scripts.find(s => re.test(s.url)), match};
}

// Sets a breakpoint on the line of file matching text; returns its id.
async function breakAt(s, fileRe, text) {
  const sc = s.script(fileRe);
  const src = (await s.client.Debugger.getScriptSource({scriptId: sc.scriptId})).scriptSource.split('\n');
  const line = src.findIndex(l => l.includes(text));
  if (line < 0) throw new Error(`no line with ${text} in ${sc.url}`);
  return (await s.client.Debugger.setBreakpointByUrl({url: sc.url, lineNumber: line})).breakpointId;
}

async function series(name, side, setup) {
  const out = {};
  out.none = await measure(side);
  const s = await attach(side.inspect);
  out.attached = await measure(side);
  let bp = await breakAt(s, setup.elsewhere[0], setup.elsewhere[1]);
  out.elsewhere = await measure(side);
  await s.client.Debugger.removeBreakpoint({breakpointId: bp});
  bp = await breakAt(s, setup.inside[0], setup.inside[1]);
  out.inside = await measure(side);
  await s.client.close();
  return [name, out];
}

// proflab
const token = 'bench-insp';
const [base, ws] = await launch(bin, ['serve', '--listen', '127.0.0.1:0', '--inspect', '127.0.0.1:0', '--artifacts',
  path.join(work, 'art'), '--scenarios', path.join(root, 'scenarios'), '--scenarios', path.join(root, 'scripts', 'bench', 'scenarios')],
  {LAB_ENABLE: 'true', LAB_TOKEN: token}, [/msg=listening url=(http:\S+)/, /msg="inspector listening" url=(ws:\S+)/]);
const proflab = {
  inspect: Number(new URL(ws).port),
  run: async () => (await (await fetch(`${base}/api/lab/bench-cpu?rounds=${rounds}`, {method: 'POST', headers: {'x-lab-token': token}})).json()).ms,
};
for (let i = 0; i < 3; i++) await proflab.run(); // warm-up
// node --inspect
const [nodeInspect, nodePort] = await launch(process.execPath, ['--inspect=127.0.0.1:0', path.join(root, 'scripts', 'bench', 'cpu-work.js'), '--serve'],
  {}, [/Debugger listening on ws:\/\/127\.0\.0\.1:(\d+)\//, /^port (\d+)$/m]);
const node = {
  inspect: Number(nodeInspect),
  run: async () => (await (await fetch(`http://127.0.0.1:${nodePort}/run?rounds=${rounds}`)).json()).ms,
};
for (let i = 0; i < 10; i++) await node.run(); // warm-up: V8 compiles the hot functions first

const rows = [
  await series(`proflab (Lua, ${rounds} rounds)`, proflab, {elsewhere: [/event-loop-jam\.lua$/, 'x = 1 + 1 / x'],
                                                            inside: [/bench-cpu\.lua$/, 'acc = 0 -- never runs']}),
  await series(`node --inspect (${rounds} rounds)`, node, {elsewhere: [/cpu-work\.js$/, 'return 1; // a breakpoint'],
                                                           inside: [/cpu-work\.js$/, 'acc = 0; // never runs']}),
];
const cols = ['none', 'attached', 'elsewhere', 'inside'];
console.log(`${'median ms (ratio to none)'.padEnd(34)}${['no session', 'attached', 'bp elsewhere', 'bp inside'].map(c => c.padStart(17)).join('')}`);
for (const [name, o] of rows)
  console.log(name.padEnd(34) + cols.map(c => `${o[c].toFixed(1)} (${(o[c] / o.none).toFixed(2)})`.padStart(17)).join(''));
process.exit(0);
