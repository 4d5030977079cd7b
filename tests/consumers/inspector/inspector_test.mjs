// The inspector against chrome-remote-interface (the CDP client DevTools tooling uses): discovery
// as chrome://inspect reads it, the refusals that keep it local, the Console, the Sources panel's
// breakpoints, steps, scopes and pauses (also of a running jam), and CPU profiles and heap
// snapshots read by DevTools' own models and by `proflab analyze`.
// usage: node inspector_test.mjs PROFLAB_BIN
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {bundleDevTools} from '../heap/bundle.mjs';
import {startEngine, tap} from './engine.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, '..', 'node_modules');
const bin = process.argv[2];
const t = tap(), check = t.check;

let CDP, esbuild;
try {
  CDP = (await import(path.join(modules, 'chrome-remote-interface', 'index.js'))).default;
  esbuild = await import(path.join(modules, 'esbuild', 'lib', 'main.js'));
} catch (e) {
  console.error('tests/consumers/node_modules is missing: run `make test` or `npm ci` in tests/consumers');
  process.exit(1);
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'proflab-insp-'));
const {loadDevTools} = await bundleDevTools(path.join(work, 'devtools-heap.mjs'));
await esbuild.build({entryPoints: [path.join(here, '..', 'cpu', 'devtools_entry.ts')], bundle: true, platform: 'node',
                     format: 'esm', outfile: path.join(work, 'devtools-cpu.mjs'), logLevel: 'error', nodePaths: [modules]});
const {CPUProfileDataModel} = await import(path.join(work, 'devtools-cpu.mjs'));

// The engine, with the inspector on an ephemeral port.
const token = 'insp-test-token';
const start = (args, env) => startEngine(bin, work, token, args, env);

// refusals at start: the inspector runs any Lua, so it needs the lab on and a loopback address
{
  const off = await start(['--inspect', '127.0.0.1:0'], {LAB_ENABLE: 'false'});
  check('--inspect with the lab disabled: exit 2', await off.exited === 2);
  check('... saying why', /needs the lab enabled/.test(off.log()), off.log());
  const remote = await start(['--inspect', '0.0.0.0:0'], {});
  check('--inspect on a non-loopback address: exit 2', await remote.exited === 2);
  check('... naming LAB_INSPECT_REMOTE', /LAB_INSPECT_REMOTE=true/.test(remote.log()));
}

// LAB_INSPECT_REMOTE: every request needs a token with scope inspect (a browser sends it as ?token=)
{
  const remote = await start(['--inspect', '127.0.0.1:0'], {LAB_INSPECT_REMOTE: 'true'});
  const rbase = remote.base, rws = remote.ws;
  const u = new URL(rws);
  const get = (p, headers = {}) => new Promise(resolve => {
    const s = net.connect(+u.port, '127.0.0.1', () => s.end(`GET ${p} HTTP/1.1\r\nHost: 127.0.0.1:${u.port}\r\n` +
      Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n'));
    let out = '';
    s.on('data', d => { out += d; });
    s.on('end', () => resolve(out));
  });
  const mint = async scope => (await (await fetch(`${rbase}/api/lab/tokens?scope=${scope}&ttl=5m`,
    {method: 'POST', headers: {'x-lab-token': token}})).json()).token;
  check('remote: /json/list without a token is refused (401)', /^HTTP\/1.1 401/.test(await get('/json/list')));
  check('remote: with LAB_TOKEN in x-lab-token it answers', /^HTTP\/1.1 200/.test(await get('/json/list', {'x-lab-token': token})));
  const upgrade = {Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13'};
  const labOnly = await mint('lab:*');
  check('remote: a token without scope inspect is refused (403)',
        /^HTTP\/1.1 403/.test(await get(`${u.pathname}?token=${labOnly}`, upgrade)));
  const inspectTok = await mint('inspect');
  let session = null;
  try { session = await CDP({target: `${rws}?token=${inspectTok}`, local: true}); } catch (e) { session = e; }
  check('remote: a token with scope inspect in ?token= opens the session', session && session.Runtime,
        session && session.message);
  if (session && session.Runtime) {
    const r = await session.Runtime.evaluate({expression: '2 ^ 10'});
    check('... and the Console works through it', r.result.value === 1024, r);
    await session.close();
  }
  remote.child.kill('SIGTERM');
  await remote.exited;
}

// a scenario of the test's own: it logs, then fails two calls down
const extra = path.join(work, 'scenarios');
fs.mkdirSync(extra);
fs.writeFileSync(path.join(extra, 'boom.lua'), `-- test-only: logs, then fails
local lab = require "lab"
local function explode(n)
  local reason = "exploded at " .. n
  error(reason)
end
return {
  summary = "log, then fail",
  method = "POST",
  params = {},
  run = function()
    print("printed", 42)
    lab.log("warn", "about to fail", { n = 3 })
    explode(3)
  end,
}
`);
const server = await start(['--inspect', '127.0.0.1:0', '--scenarios', path.join(here, '..', '..', '..', 'scenarios'),
                            '--scenarios', extra], {});
const {base, ws: wsUrl} = server;
if (!wsUrl) { console.error(server.log()); process.exit(1); }
const inspPort = +new URL(wsUrl).port;
const lab = (route) => fetch(`${base}/api/lab/${route}`, {method: 'POST', headers: {'x-lab-token': token}}).then(r => r.json());

// raw HTTP, to send the Host header a browser page would
function raw(request) {
  return new Promise((resolve, reject) => {
    const s = net.connect(inspPort, '127.0.0.1', () => s.end(request));
    let out = '';
    s.on('data', d => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

try {
  // discovery, as chrome://inspect polls it
  const listAnswer = await raw(`GET /json/list HTTP/1.1\r\nHost: 127.0.0.1:${inspPort}\r\n\r\n`);
  check('/json/list: 200 with Content-Length and Connection: close',
        /^HTTP\/1.1 200/.test(listAnswer) && /Content-Length: \d+/i.test(listAnswer) && /Connection: close/i.test(listAnswer));
  const list = JSON.parse(listAnswer.split('\r\n\r\n')[1]);
  check('/json/list: one node target with its WebSocket URL', list.length === 1 && list[0].type === 'node' &&
        list[0].webSocketDebuggerUrl === wsUrl.replace(/:\d+\//, `:${inspPort}/`) && /v8only=true/.test(list[0].devtoolsFrontendUrl), list);
  check('DNS rebinding: a Host that is a name is refused (403)',
        /^HTTP\/1.1 403/.test(await raw('GET /json/list HTTP/1.1\r\nHost: evil.example:9229\r\n\r\n')));
  check('a WebSocket on another path is refused (404)', /^HTTP\/1.1 404/.test(await raw(
    'GET /not-the-id HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')));
  check('a malformed head is refused (400)', /^HTTP\/1.1 400/.test(await raw('NOT A REQUEST\r\n\r\n')));

  const client = await CDP({host: '127.0.0.1', port: inspPort, local: true});
  const {Runtime, Debugger, Profiler, HeapProfiler} = client;
  check('a second session is refused while one is attached (409)', /^HTTP\/1.1 409/.test(await raw(
    `GET ${new URL(wsUrl).pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')));

  // Runtime and the Console
  const contexts = [];
  Runtime.executionContextCreated(p => contexts.push(p.context));
  await Runtime.enable();
  check('Runtime.enable announces the default context', contexts.length === 1 && contexts[0].auxData.isDefault);
  const three = await Runtime.evaluate({expression: '1 + 2'});
  check('evaluate: 1 + 2 is the number 3', three.result.type === 'number' && three.result.value === 3);
  const st = await Runtime.evaluate({expression: 'local t = {} for i = 1, 3 do t[i] = i * i end return t'});
  const props = await Runtime.getProperties({objectId: st.result.objectId});
  check('statements run too; a table is an object with its entries',
        st.result.type === 'object' && props.result.map(p => p.value.value).join() === '1,4,9', props);
  const fn = await Runtime.evaluate({expression: 'string.format'});
  check('a function reads as JavaScript-shaped for the UI', fn.result.type === 'function' && /^function /.test(fn.result.description));
  const boom = await Runtime.evaluate({expression: 'error("boom")'});
  check('an error is exceptionDetails with the message', boom.exceptionDetails && /boom/.test(boom.exceptionDetails.exception.description));
  let refused = false;
  try { await Runtime.evaluate({expression: 'os.exit()', throwOnSideEffect: true}); } catch (e) { refused = true; }
  check('the eager preview (throwOnSideEffect) of a call is refused, never run', refused);
  const preview = await Runtime.evaluate({expression: 'package.loaded.string', throwOnSideEffect: true});
  check('... of a name path it reads, raw', preview.result.type === 'object' && preview.result.className === 'table', preview);
  let unknown;
  try { await client.send('Network.enable'); } catch (e) { unknown = e; }
  check('an unknown method is -32601', unknown && /wasn't found/.test(unknown.message), unknown && unknown.message);

  // Sources: scripts on every enable
  let scripts = [];
  Debugger.scriptParsed(p => scripts.push(p));
  await Debugger.enable();
  const jam = scripts.find(s => s.url.endsWith('/event-loop-jam.lua'));
  check('Debugger.enable announces every scenario with its file:// URL', jam && scripts.length >= 9 && jam.url.startsWith('file:///'));
  const src = await Debugger.getScriptSource({scriptId: jam.scriptId});
  check('getScriptSource is the file', src.scriptSource === fs.readFileSync(new URL(jam.url), 'utf8'));
  scripts = [];
  await Debugger.enable();
  check('... and again on the next enable', scripts.length >= 8);

  // a breakpoint on a blank line moves to the next line holding code (run's first line)
  const lines = src.scriptSource.split('\n');
  const runLine = lines.findIndex(l => /run = function/.test(l));
  const bp = await Debugger.setBreakpointByUrl({url: jam.url, lineNumber: runLine});
  check('setBreakpointByUrl resolves to the next line holding code',
        bp.locations.length === 1 && bp.locations[0].lineNumber === runLine + 1, bp);
  let paused = new Promise(r => Debugger.paused(r));
  const answer = lab('event-loop-jam?ms=150');
  let p = await paused;
  const where = f => `${f.functionName}:${f.location.lineNumber + 1}`;
  check('a request stops at the breakpoint', p.hitBreakpoints[0] === bp.breakpointId && p.callFrames[0].location.lineNumber === runLine + 1,
        p.callFrames.map(where));
  const health = await Promise.race([fetch(`${base}/api/health`).then(() => 'answered'), new Promise(r => setTimeout(() => r('waiting'), 300))]);
  check('while paused the loop is held: /api/health waits', health === 'waiting');
  const scope = await Runtime.getProperties({objectId: p.callFrames[0].scopeChain[0].object.objectId});
  const pObj = scope.result.find(x => x.name === 'p');
  const pProps = await Runtime.getProperties({objectId: pObj.value.objectId});
  check('the local scope holds the parameters (p.ms = 150)', pProps.result.find(x => x.name === 'ms').value.value === 150);
  const hover = await Debugger.evaluateOnCallFrame({callFrameId: p.callFrames[0].callFrameId, expression: 'p.ms', throwOnSideEffect: true});
  check('hovering p.ms (a side-effect-free read) shows 150', hover.result.value === 150, hover);
  const ev = await Debugger.evaluateOnCallFrame({callFrameId: p.callFrames[0].callFrameId, expression: 'p.ms * 2'});
  check('evaluateOnCallFrame sees the frame\'s locals', ev.result.value === 300, ev);
  paused = new Promise(r => Debugger.paused(r));
  await Debugger.stepOver();
  p = await paused;
  check('stepOver: the next line', p.callFrames[0].location.lineNumber === runLine + 2, p.callFrames.map(where));
  paused = new Promise(r => Debugger.paused(r));
  await Debugger.stepInto();
  p = await paused;
  check('stepInto: inside spin', p.callFrames[0].functionName === 'spin' && p.callFrames.length === 2, p.callFrames.map(where));
  const setLocal = await Debugger.evaluateOnCallFrame({callFrameId: p.callFrames[0].callFrameId, expression: 'ms = 1'});
  const ms = await Debugger.evaluateOnCallFrame({callFrameId: p.callFrames[0].callFrameId, expression: 'ms'});
  check('an assignment in the Console sets the frame\'s local', !setLocal.exceptionDetails && ms.result.value === 1, ms);
  await Debugger.setVariableValue({scopeNumber: 0, variableName: 'ms', newValue: {value: 2}, callFrameId: p.callFrames[0].callFrameId});
  const ms2 = await Debugger.evaluateOnCallFrame({callFrameId: p.callFrames[0].callFrameId, expression: 'ms'});
  check('setVariableValue (an edit in the Scope pane) sets it too', ms2.result.value === 2, ms2);
  let noVar;
  try { await Debugger.setVariableValue({scopeNumber: 0, variableName: 'nope', newValue: {value: 1}, callFrameId: '0'}); } catch (e) { noVar = e; }
  check('... and refuses a name the scope does not have', noVar && /no variable/.test(noVar.message));
  paused = new Promise(r => Debugger.paused(r));
  await Debugger.stepOut();
  p = await paused;
  // Lua reports no new line event for the rest of the caller's line: the next stop is its next line
  check('stepOut: back in run, at its next line', p.callFrames[0].location.lineNumber === runLine + 3 && p.callFrames.length === 1, p.callFrames.map(where));
  await Debugger.removeBreakpoint({breakpointId: bp.breakpointId});
  await Debugger.resume();
  const done = await answer;
  check('after resume the request completes, with the value set from the Console', done.jammedMs === 150, done);

  // a conditional breakpoint inside spin's loop, true on one pass only
  const busy = lines.findIndex(l => /x = 1 \+ 1 \/ x/.test(l));
  const cbp = await Debugger.setBreakpointByUrl({url: jam.url, lineNumber: busy, condition: 'x > 1.6 and _ == 1000'});
  paused = new Promise(r => Debugger.paused(r));
  const answer2 = lab('event-loop-jam?ms=50');
  p = await paused;
  const iv = await Debugger.evaluateOnCallFrame({callFrameId: p.callFrames[0].callFrameId, expression: '_'});
  check('a condition stops on the pass it names', iv.result.value === 1000, iv);
  await Debugger.removeBreakpoint({breakpointId: cbp.breakpointId});
  await Debugger.resume();
  await answer2;

  // lab.log in the Console; an uncaught error pauses where it was raised
  const boomScript = scripts.find(x => x.url.endsWith('/boom.lua'));
  const consoleMessages = [];
  const logged = new Promise(r => Runtime.consoleAPICalled(c => { consoleMessages.push(c); if (c.type === 'warning') r(c); }));
  await Debugger.setPauseOnExceptions({state: 'uncaught'});
  paused = new Promise(r => Debugger.paused(r));
  const failing = fetch(`${base}/api/lab/boom`, {method: 'POST', headers: {'x-lab-token': token}});
  const c = await logged;
  check('lab.log reaches the Console as a warning with its fields and line', c.type === 'warning' &&
        c.args[0].value === 'about to fail' && c.args[1].type === 'object' && c.stackTrace.callFrames[0].scriptId === boomScript.scriptId &&
        c.stackTrace.callFrames[0].lineNumber === 12, c);
  const printed = consoleMessages.find(x => x.type === 'log');
  check('print reaches the Console as a log, tab-joined, with its line', printed && printed.args[0].value === 'printed\t42' &&
        printed.stackTrace.callFrames[0].lineNumber === 11, consoleMessages);
  p = await paused;
  check('pause on uncaught exceptions: stopped in explode, the error as data', p.reason === 'exception' &&
        p.callFrames[0].functionName === 'explode' && /exploded at 3/.test(p.data.value), {reason: p.reason, frames: p.callFrames.map(where), data: p.data});
  const why = await Debugger.evaluateOnCallFrame({callFrameId: p.callFrames[0].callFrameId, expression: 'reason'});
  check('... with its locals readable', why.result.value === 'exploded at 3', why);
  await Debugger.resume();
  check('... and after resume the request answers 500', (await failing).status === 500);
  await Debugger.setPauseOnExceptions({state: 'none'});
  check('with pause on exceptions off, the error just answers 500',
        (await fetch(`${base}/api/lab/boom`, {method: 'POST', headers: {'x-lab-token': token}})).status === 500);

  // Debugger.pause reaches a scenario that holds the loop
  const answer3 = lab('event-loop-jam?ms=3000');
  await new Promise(r => setTimeout(r, 300));
  paused = new Promise(r => Debugger.paused(r));
  const t0 = Date.now();
  await Debugger.pause();
  p = await paused;
  check(`Debugger.pause stops a running jam inside spin (${Date.now() - t0} ms)`, p.callFrames[0].functionName === 'spin' &&
        p.callFrames[0].location.lineNumber >= busy - 1 && Date.now() - t0 < 1000, p.callFrames.map(where));
  await Debugger.resume();
  await answer3;

  // a loop typed in the Console: Pause ends it (there is nothing else to stop it with)
  const endless = Runtime.evaluate({expression: 'local n = 0 while true do n = n + 1 end'});
  await new Promise(r => setTimeout(r, 300));
  await Debugger.pause();
  const ended = await Promise.race([endless, new Promise(r => setTimeout(() => r(null), 3000))]);
  check('Pause ends a loop typed in the Console, as an error', ended && ended.exceptionDetails &&
        /stopped by the debugger's Pause/.test(ended.exceptionDetails.exception.description), ended);
  check('... and the engine answers again', (await fetch(`${base}/api/health`)).status === 200);

  // Profiler: a recording as the Performance panel makes it
  await Profiler.enable();
  await Profiler.setSamplingInterval({interval: 100});
  await Profiler.start();
  await lab('event-loop-jam?ms=300');
  const {profile} = await Profiler.stop();
  fs.writeFileSync(path.join(work, 'session.cpuprofile'), JSON.stringify(profile));
  const model = new CPUProfileDataModel(structuredClone(profile));
  let spinSamples = 0, busySamples = 0, spinScript = null;
  for (let i = 0; i < model.samples.length; i++) {
    const n = model.nodeByIndex(i);
    if (n && n.functionName !== '(idle)') busySamples++;
    if (n && n.functionName === 'spin') { spinSamples++; spinScript = n.callFrame.scriptId; }
  }
  check('Profiler.stop: DevTools\' CPUProfileDataModel loads it; spin holds the busy samples',
        busySamples > 1000 && spinSamples >= 0.9 * busySamples, {spinSamples, busySamples});
  check('... with the scriptId the Sources panel knows', spinScript === jam.scriptId, spinScript);
  let analyzed = true;
  try { execFileSync(bin, ['analyze', path.join(work, 'session.cpuprofile')], {stdio: 'pipe'}); } catch (e) { analyzed = false; }
  check('... and `proflab analyze` reads it', analyzed);

  // HeapProfiler: progress finished first, then the chunks, then the answer
  const order = [];
  const chunks = [];
  HeapProfiler.reportHeapSnapshotProgress(e => order.push(e.finished ? 'finished' : 'progress'));
  HeapProfiler.addHeapSnapshotChunk(e => { order.push('chunk'); chunks.push(e.chunk); });
  await lab('memory-leak?mb=8');
  await HeapProfiler.takeHeapSnapshot({reportProgress: true});
  check('takeHeapSnapshot: progress finished before the first chunk', order[0] === 'finished' && order.lastIndexOf('finished') < order.indexOf('chunk'), order.slice(0, 5));
  const file = path.join(work, 'session.heapsnapshot');
  fs.writeFileSync(file, chunks.join(''));
  const snap = await loadDevTools(fs.readFileSync(file, 'utf8'));
  let biggest = null;
  const node = snap.createNode(0);
  for (let i = 0; i < snap.nodeCount; i++) {
    node.nodeIndex = i * snap.nodeFieldCount;
    if (!biggest || node.selfSize() > biggest.self) biggest = {cls: node.className(), self: node.selfSize()};
  }
  check('the chunks load in DevTools\' HeapSnapshotLoader; the 8 MiB lab.Buffer is the largest object',
        biggest.cls === 'lab.Buffer' && biggest.self >= 8 * 1024 * 1024, biggest);
  let spinLoc = null;
  for (let i = 0; i < snap.nodeCount; i++) {
    node.nodeIndex = i * snap.nodeFieldCount;
    if (node.name().startsWith('function @ event-loop-jam.lua:6')) spinLoc = snap.getLocation(node.nodeIndex);
  }
  check('closures carry their location: spin links to the Sources script, line 6', spinLoc &&
        String(spinLoc.scriptId) === jam.scriptId && spinLoc.lineNumber === 5, spinLoc);
  try { execFileSync(bin, ['analyze', file], {stdio: 'pipe'}); analyzed = true; } catch (e) { analyzed = false; }
  check('... and `proflab analyze` reads it', analyzed);
  await lab('memory-clear');

  // the end of the session lets a pause go
  await Debugger.setBreakpointByUrl({url: jam.url, lineNumber: runLine + 1});
  paused = new Promise(r => Debugger.paused(r));
  const answer4 = lab('event-loop-jam?ms=10');
  await paused;
  await client.close();
  const last = await Promise.race([answer4, new Promise(r => setTimeout(() => r(null), 3000))]);
  check('closing the session while paused resumes the request', last && last.jammedMs === 10, last);
} catch (e) {
  check(`no exception (${e.message})`, false, e.stack);
}

// a second engine on the same inspector port: exit 1 saying so, everything freed (under ASan a
// leak would change the exit code)
{
  const work2 = fs.mkdtempSync(path.join(os.tmpdir(), 'proflab-insp2-'));
  const busy = await startEngine(bin, work2, token, ['--inspect', `127.0.0.1:${inspPort}`]);
  check('--inspect on a port in use: exit 1', await busy.exited === 1, busy.log().slice(-1500));
  check('... naming the address', /--inspect: cannot listen on 127\.0\.0\.1:\d+: Address already in use/.test(busy.log()));
  fs.rmSync(work2, {recursive: true, force: true});
}

// SIGTERM with a session attached: the session ends, the engine exits 0
const last = await CDP({host: '127.0.0.1', port: inspPort, local: true}).catch(e => e);
if (last.Runtime) await last.Debugger.enable();
server.child.kill('SIGTERM');
check('SIGTERM with a session attached: the engine stops cleanly (exit 0)', await server.exited === 0, server.log().slice(-2000));
console.log(`# ${t.passed} passed, ${t.failed} failed`);
if (t.failed) console.log(server.log().split('\n').filter(l => !/scenario loaded/.test(l)).slice(-30).join('\n'));
fs.rmSync(work, {recursive: true, force: true});
process.exit(t.failed ? 1 : 0);
