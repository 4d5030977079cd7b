// The Node.js side of scripts/bench/heap.sh: n small objects, then v8.writeHeapSnapshot().
// Prints one JSON line: {ms, bytes, objects, heapUsed, rssBefore, peakRss}.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const n = Number(process.argv[2] || 1000000);
const dir = process.argv[3] || '.';
const held = [];
for (let i = 1; i <= n; i++) held.push({id: i, tag: 't'});
global.gc && global.gc();
const status = () => fs.readFileSync('/proc/self/status', 'utf8');
const kb = (s, k) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)[1]) * 1024;
fs.writeFileSync('/proc/self/clear_refs', '5'); // reset the peak RSS
const before = kb(status(), 'VmRSS');
const t0 = process.hrtime.bigint();
const file = v8.writeHeapSnapshot(path.join(dir, 'node.heapsnapshot'));
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
const s = status();
console.log(JSON.stringify({ms, bytes: fs.statSync(file).size, objects: held.length, heapUsed: process.memoryUsage().heapUsed,
                            rssBefore: before, peakRss: kb(s, 'VmHWM')}));
