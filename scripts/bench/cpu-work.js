// cpu-work.js ROUNDS: the work of scenarios/bench-cpu.lua in JavaScript, timed inside the
// process (node --cpu-prof starts before and writes after); prints wall and CPU milliseconds
// (the CPU time of the whole process: V8's sampler thread included).
// cpu-work.js --serve: the same work on demand, GET /run?rounds=N answering its milliseconds,
// for scripts/bench/inspector.sh (node --inspect); prints "port N" once listening.
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
function shapes(n) {
  const t = [];
  let sum = 0;
  for (let i = 1; i <= n; i++) t.push({id: i, name: 'item' + i, w: i % 7});
  for (let i = 0; i < n; i++) sum += t[i].name.length + t[i].w;
  return sum;
}
function work(r) {
  let acc = 0;
  for (let k = 0; k < r; k++) {
    acc += fib(20) + shapes(2000);
    let x = 1.0;
    for (let i = 0; i < 20000; i++) x = 1 + 1 / x;
    acc += x;
    if (acc !== acc) {
      acc = 0; // never runs: scripts/bench/inspector.sh sets a breakpoint here
    }
  }
  return acc;
}
function elsewhere() {
  return 1; // a breakpoint in another function: scripts/bench/inspector.sh
}
if (process.argv[2] === '--serve') {
  const server = require('node:http').createServer((req, res) => {
    const n = Number(new URL(req.url, 'http://x').searchParams.get('rounds') || 100);
    const t0 = performance.now();
    const r = work(n) + elsewhere() * 0;
    res.end(JSON.stringify({ms: performance.now() - t0, result: r}));
  });
  server.listen(0, '127.0.0.1', () => console.log(`port ${server.address().port}`));
} else {
  const rounds = Number(process.argv[2] || 100);
  const t0 = performance.now(), c0 = process.cpuUsage();
  const r = work(rounds);
  const c = process.cpuUsage(c0);
  console.log(`${(performance.now() - t0).toFixed(3)} ${((c.user + c.system) / 1000).toFixed(3)} ${r}`);
}
