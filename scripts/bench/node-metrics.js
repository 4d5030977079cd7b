#!/usr/bin/env node
// node-metrics.js: the baseline for scripts/bench/metrics.sh. A Node.js 20 `http` server that
// answers GET /api/metrics with prom-client's default metrics (collectDefaultMetrics), as the
// reference lab's /api/metrics does. prom-client is installed by metrics.sh (NODE_PATH).
// Usage: node node-metrics.js [HOST:PORT]   Prints `msg=listening url=http://HOST:PORT` on stderr.
'use strict';
const http = require('node:http');
const client = require('prom-client');

const arg = process.argv[2] || '127.0.0.1:0';
const colon = arg.lastIndexOf(':');
const host = arg.slice(0, colon) || '127.0.0.1';
const port = Number(arg.slice(colon + 1));
client.collectDefaultMetrics();

const server = http.createServer(async (req, res) => {
  if (req.url === '/api/metrics' && req.method === 'GET') {
    const body = await client.register.metrics();
    res.writeHead(200, { 'Content-Type': client.register.contentType });
    res.end(body);
    return;
  }
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end('{"error":"not_found"}');
});
server.listen(port, host, () => {
  const a = server.address();
  process.stderr.write(`msg=listening url=http://${a.address}:${a.port}\n`);
});
