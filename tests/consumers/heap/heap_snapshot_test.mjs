// Heap snapshots against their real readers: DevTools' HeapSnapshotWorker (bundled from
// chrome-devtools-frontend) and memlab (@memlab/heap-analysis), plus the format's invariants
// checked here, then `proflab diff` on the same files.
// usage: node heap_snapshot_test.mjs PROFLAB_BIN
import {spawn, execFileSync} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';
import {bundleDevTools} from './bundle.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = process.argv[2];
const MiB = 1024 * 1024;
let failed = 0, passed = 0;
function check(name, cond, detail) {
  if (cond) { passed++; console.log(`ok - ${name}`); }
  else { failed++; console.log(`not ok - ${name}`); if (detail !== undefined) console.log(`#   ${JSON.stringify(detail).slice(0, 1500)}`); }
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'proflab-heap-'));
const require = createRequire(import.meta.url);
let memlab;
try {
  memlab = require(path.join(here, '..', 'node_modules', '@memlab', 'heap-analysis'));
} catch (e) {
  console.error('tests/consumers/node_modules is missing: run `make test` or `npm ci` in tests/consumers');
  process.exit(1);
}
const {loadDevTools} = await bundleDevTools(path.join(work, 'devtools-heap.mjs'));

// the server
const token = 'heap-test-token';
const log = path.join(work, 'server.log');
const logFd = fs.openSync(log, 'w');
const server = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--artifacts', path.join(work, 'art')], {
  env: {...process.env, LAB_ENABLE: 'true', LAB_TOKEN: token}, stdio: ['ignore', 'ignore', logFd],
});
let base;
for (let i = 0; i < 200 && !base; i++) {
  await new Promise(r => setTimeout(r, 50));
  const m = /msg=listening url=(http:\S+)/.exec(fs.readFileSync(log, 'utf8'));
  if (m) base = m[1];
}
if (!base) { console.error(fs.readFileSync(log, 'utf8')); process.exit(1); }

// one connection per call, closed after it: the test is about files, not keep-alive
const agent = new http.Agent({keepAlive: false});
function lab(route) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/api/lab/${route}`, {method: 'POST', agent, headers: {'x-lab-token': token}}, res => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', c => { text += c; });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`${route}: ${res.statusCode} ${text}`));
        else resolve(JSON.parse(text));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

// The format's invariants, read by hand.
function invariants(file) {
  const d = JSON.parse(fs.readFileSync(file, 'utf8'));
  const m = d.snapshot.meta, nf = m.node_fields.length, ef = m.edge_fields.length;
  const errs = [];
  if (d.nodes.length !== d.snapshot.node_count * nf) errs.push('node_count');
  if (d.edges.length !== d.snapshot.edge_count * ef) errs.push('edge_count');
  const ec = m.node_fields.indexOf('edge_count'), nm = m.node_fields.indexOf('name'), ty = m.node_fields.indexOf('type');
  const id = m.node_fields.indexOf('id');
  let sum = 0; const ids = new Set();
  for (let i = 0; i < d.nodes.length; i += nf) {
    sum += d.nodes[i + ec];
    if (d.nodes[i + nm] >= d.strings.length) errs.push(`node ${i / nf} name`);
    if (d.nodes[i + ty] >= m.node_types[0].length) errs.push(`node ${i / nf} type`);
    if (ids.has(d.nodes[i + id])) errs.push(`duplicate id ${d.nodes[i + id]}`);
    ids.add(d.nodes[i + id]);
  }
  if (sum !== d.snapshot.edge_count) errs.push(`edge counts add up to ${sum}`);
  const et = m.edge_types[0];
  for (let i = 0; i < d.edges.length; i += ef) {
    const t = et[d.edges[i]], to = d.edges[i + 2];
    if (to % nf !== 0 || to >= d.nodes.length) errs.push(`edge ${i / ef} to_node ${to}`);
    if (t !== 'element' && t !== 'hidden' && d.edges[i + 1] >= d.strings.length) errs.push(`edge ${i / ef} name`);
  }
  if (m.node_types[0][d.nodes[ty]] !== 'synthetic') errs.push('node 0 is not the synthetic root');
  return errs.slice(0, 10);
}

// DevTools: nodes as the Summary / Retainers views see them.
async function devtools(file) {
  const s = await loadDevTools(fs.readFileSync(file, 'utf8'));
  const nodes = [];
  const n = s.createNode(0);
  for (let i = 0; i < s.nodeCount; i++) {
    n.nodeIndex = i * s.nodeFieldCount;
    nodes.push({i, id: n.id(), name: n.name(), cls: n.className(), self: n.selfSize(), retained: n.retainedSize(),
                distance: n.distance(), dom: s.dominatorsTree[i]});
  }
  // the shortest retainer path: from the node, a retainer one step nearer the root each time
  function path(i) {
    const names = [];
    let cur = s.createNode(i * s.nodeFieldCount);
    while (cur.distance() > 0 && names.length < 64) {
      let next = null;
      for (const it = cur.retainers(); it.hasNext(); it.next()) {
        const e = it.item(), from = e.node();
        if (e.type() === 'weak') continue;
        if (from.distance() === cur.distance() - 1 || (from.nodeIndex === 0 && cur.distance() === 1)) { next = {e, from}; break; }
      }
      if (!next) break;
      names.unshift(String(next.e.name()));
      cur = s.createNode(next.from.nodeIndex);
      if (next.from.nodeIndex === 0) break;
    }
    return names;
  }
  function retainersOf(i) {
    const out = [];
    for (const it = s.createNode(i * s.nodeFieldCount).retainers(); it.hasNext(); it.next()) out.push(String(it.item().name()));
    return out;
  }
  return {nodes, path, retainersOf};
}

// memlab: the same questions through its own parser and analyses.
async function memlabRead(file) {
  const heap = await memlab.getFullHeapFromFile(file);
  const nodes = [];
  heap.nodes.forEach(n => nodes.push(n));
  function path(n) {
    const names = [];
    for (let cur = n; cur && cur.pathEdge && names.length < 64; cur = cur.pathEdge.fromNode) names.unshift(String(cur.pathEdge.name_or_index));
    return names;
  }
  return {nodes, path};
}

const proflabDiff = (a, b) => execFileSync(bin, ['diff', a, b], {encoding: 'utf8'});
const proflabAnalyze = a => execFileSync(bin, ['analyze', a, '--top', '5'], {encoding: 'utf8'});

try {
  const snapA = await lab('heap-snapshot');
  check('answer has filePath, bytes, nodes, edges, durationMs',
        path.isAbsolute(snapA.filePath) && snapA.bytes > 0 && snapA.nodes > 0 && snapA.edges > 0 && snapA.durationMs >= 0, snapA);
  check('file is named heap-<ISO time>-<8 hex>.heapsnapshot',
        /^heap-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-[0-9a-f]{8}\.heapsnapshot$/.test(path.basename(snapA.filePath)), snapA.filePath);
  check('bytes is the file size', fs.statSync(snapA.filePath).size === snapA.bytes);
  await lab('memory-leak?mb=64');
  await lab('memory-leak?mb=64');
  const snapB = await lab('heap-snapshot');
  for (const f of [snapA.filePath, snapB.filePath]) check(`invariants hold: ${path.basename(f)}`, invariants(f).length === 0, invariants(f));

  // the two buffers, in DevTools
  const dt = await devtools(snapB.filePath);
  const rootEdges = [];
  {
    const s = await loadDevTools(fs.readFileSync(snapB.filePath, 'utf8'));
    for (const it = s.rootNode().edges(); it.hasNext(); it.next()) rootEdges.push(`${it.item().name()}->${it.item().node().name()}`);
  }
  for (const e of ['registry->registry', 'globals->globals', 'main thread stack->main thread', 'running coroutine->coroutine'])
    check(`DevTools: the root has the edge ${e}`, rootEdges.includes(e), rootEdges);
  const reg = dt.nodes.find(n => n.name === 'registry');
  check('DevTools: the registry is a user root (distance 1) and the root\'s first child', reg && reg.distance === 1 && rootEdges[0] === 'registry->registry', {reg, rootEdges});
  const bySelf = [...dt.nodes].sort((a, b) => b.self - a.self);
  for (const k of [0, 1]) {
    const b = bySelf[k], dom = dt.nodes[b.dom];
    check(`DevTools: largest object ${k + 1} by self size is a lab.Buffer`, b.cls === 'lab.Buffer', b);
    check(`DevTools: buffer ${k + 1} retains at least 64 MiB`, b.retained >= 64 * MiB, b);
    check(`DevTools: buffer ${k + 1} is dominated by retainedBuffers`, dom && dom.cls === 'Table' && dt.retainersOf(dom.i).includes('retainedBuffers'), {dom, r: dom && dt.retainersOf(dom.i)});
    const p = dt.path(b.i);
    check(`DevTools: buffer ${k + 1}'s shortest path runs through retainedBuffers`, p.includes('retainedBuffers') && p[0] !== undefined && p.every(x => x !== ''), p);
  }
  // and in memlab
  const ml = await memlabRead(snapB.filePath);
  const mlSelf = [...ml.nodes].sort((a, b) => b.self_size - a.self_size);
  for (const k of [0, 1]) {
    const b = mlSelf[k];
    check(`memlab: largest object ${k + 1} by self size is a lab.Buffer`, b.name === 'lab.Buffer', b.name);
    check(`memlab: buffer ${k + 1} retains at least 64 MiB`, b.retainedSize >= 64 * MiB, b.retainedSize);
    const dom = b.dominatorNode;
    check(`memlab: buffer ${k + 1} is dominated by retainedBuffers`,
          dom && dom.name === 'Table' && dom.referrers.some(e => e.name_or_index === 'retainedBuffers'), dom && dom.name);
    const p = ml.path(b);
    check(`memlab: buffer ${k + 1}'s shortest path runs through retainedBuffers`, p.includes('retainedBuffers'), p);
  }

  // ids: the same live object keeps its id, and no id names two different objects
  const dtA = await devtools(snapA.filePath);
  const idsB = new Map(dt.nodes.map(n => [n.id, n]));
  const both = dtA.nodes.filter(n => idsB.has(n.id));
  check('ids of untouched objects match across snapshots', both.length >= dtA.nodes.length * 0.9, {a: dtA.nodes.length, both: both.length});
  check('an id names the same object in both', both.every(n => idsB.get(n.id).name === n.name && idsB.get(n.id).cls === n.cls),
        both.filter(n => idsB.get(n.id).name !== n.name).slice(0, 5));
  const keyA = dtA.nodes.find(n => n.name === 'globals'), keyB = dt.nodes.find(n => n.name === 'globals');
  check('the globals table has one id across snapshots', keyA && keyB && keyA.id === keyB.id);

  // DevTools' Comparison view: B against A, class by class
  {
    const sA = await loadDevTools(fs.readFileSync(snapA.filePath, 'utf8'));
    const sB = await loadDevTools(fs.readFileSync(snapB.filePath, 'utf8'));
    const diff = Object.values(sB.calculateSnapshotDiff(1, sA.aggregatesForDiff(sB.interfaceDefinitions())));
    const buf = diff.find(d => d.name === 'lab.Buffer');
    check('DevTools Comparison: lab.Buffer +2, 128 MiB added, none removed',
          buf && buf.addedCount === 2 && buf.addedSize >= 128 * MiB && buf.removedCount === 0, buf && {added: buf.addedCount, size: buf.addedSize});
    for (const name of ['globals', 'registry', 'package.loaded', 'EventEmitter'])
      check(`DevTools Comparison: ${name} unchanged`, !diff.some(d => d.name === name && (d.addedCount || d.removedCount)),
            diff.filter(d => d.name === name));
  }

  // proflab diff names the leak
  const diff = proflabDiff(snapA.filePath, snapB.filePath);
  check('diff names retainedBuffers with the 128 MiB it gained', /"retainedBuffers" @\d+ gained 128\.0 MiB: 2 new objects/.test(diff), diff);
  check('diff counts the new lab.Buffer objects', /lab\.Buffer\s+2\s+128\.0 MiB/.test(diff), diff);
  const an = proflabAnalyze(snapB.filePath);
  check('analyze lists the buffers with their path through retainedBuffers',
        /lab\.Buffer @\d+: self 64\.0 MiB, retained 64\.0 MiB, dominated by Table/.test(an) && /--retainedBuffers--> Table --\[1\]--> lab\.Buffer/.test(an), an);

  // a replaced table gets a new id: memory-clear swaps retainedBuffers for a new table
  const oldTable = dt.nodes[bySelf[0].dom].id;
  await lab('memory-clear');
  const snapC = await lab('heap-snapshot');
  const dtC = await devtools(snapC.filePath);
  check('the buffers are gone after memory-clear', !dtC.nodes.some(n => n.cls === 'lab.Buffer'));
  check('the old retainedBuffers id is not reused', !dtC.nodes.some(n => n.id === oldTable));

  // unbounded cache and listener growth: the growing table is the largest retainer among tables
  // other than those that contain it
  async function growing(route, edge, label) {
    await lab(route); // the table that grows exists before the first snapshot
    const before = await lab('heap-snapshot');
    await lab(route);
    await lab(route);
    const after = await lab('heap-snapshot');
    check(`${label}: invariants hold`, invariants(after.filePath).length === 0, invariants(after.filePath));
    const total = after.luaHeapBytes + after.nativeBytes;
    check(`${label}: self sizes within 10% of the allocator (${after.selfBytes} vs ${total})`,
          total > MiB && Math.abs(after.selfBytes - total) <= 0.1 * total, after);
    const d = await devtools(after.filePath);
    const target = d.nodes.find(n => n.cls !== '(string)' && d.retainersOf(n.i).includes(edge) && n.retained > MiB);
    check(`${label}: DevTools finds the ${edge} table`, target !== undefined);
    if (target) {
      const ancestors = new Set();
      for (let x = target.i; x !== 0 && !ancestors.has(x); x = d.nodes[x].dom) ancestors.add(x);
      const rivals = d.nodes.filter(n => (n.cls === 'Table' || n.cls === 'EventEmitter') && !ancestors.has(n.i));
      const top = rivals.sort((a, b) => b.retained - a.retained)[0];
      check(`${label}: DevTools: ${edge} is the largest retainer among the tables`, !top || top.retained <= target.retained, {target, top});
      const m = await memlabRead(after.filePath);
      const mt = m.nodes.find(n => n.id === target.id);
      const manc = new Set();
      for (let x = mt; x && !manc.has(x.id); x = x.dominatorNode) manc.add(x.id);
      const mtop = m.nodes.filter(n => (n.name === 'Table' || n.name === 'EventEmitter') && !manc.has(n.id))
          .sort((a, b) => b.retainedSize - a.retainedSize)[0];
      check(`${label}: memlab: ${edge} is the largest retainer among the tables`, mt && (!mtop || mtop.retainedSize <= mt.retainedSize),
            {target: mt && mt.retainedSize, top: mtop && [mtop.name, mtop.retainedSize]});
    }
    const df = proflabDiff(before.filePath, after.filePath);
    check(`${label}: proflab diff names ${edge} first`, new RegExp(`^\\s+1\\. \\S+ "${edge}" @\\d+ gained`, 'm').test(df), df);
  }
  await growing('unbounded-cache?users=500&kb=2', 'responseCache', 'unbounded-cache');
  await growing('listener-growth?count=2000&kb=2', 'config-changed', 'listener-growth');

  // every file this run produced: invariants, and both readers load it
  const files = fs.readdirSync(path.join(work, 'art')).filter(f => f.endsWith('.heapsnapshot'));
  check(`${files.length} snapshot files written`, files.length === 7, files);
  for (const f of files) {
    const full = path.join(work, 'art', f);
    const inv = invariants(full);
    const d = await devtools(full);
    const m = await memlabRead(full);
    check(`${f}: invariants, DevTools and memlab agree on ${d.nodes.length} nodes`,
          inv.length === 0 && d.nodes.length > 0 && m.nodes.length === d.nodes.length, {inv, dt: d.nodes.length, ml: m.nodes.length});
  }
} catch (e) {
  failed++;
  console.log(`not ok - ${e.stack}`);
} finally {
  server.kill('SIGTERM');
  const code = await new Promise(r => server.once('exit', c => r(c)));
  check('the server exits 0 on SIGTERM (no leak reported)', code === 0, {code, log: fs.readFileSync(log, 'utf8').slice(-4000).split('\n').filter(l => !l.includes('msg=request') && !l.includes('lab action'))});
  fs.rmSync(work, {recursive: true, force: true});
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
