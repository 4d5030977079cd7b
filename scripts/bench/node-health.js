#!/usr/bin/env node
// node-health.js: the baseline for scripts/bench/foundation.sh.
// A minimal Node.js 20 `http` server answering GET /api/health with the same JSON fields as
// proflab (status, timestamp, version, service, uptime, environment); no framework, no logging.
// Usage: node node-health.js [HOST:PORT]   (default 127.0.0.1:$PORT, PORT defaults to 0 = any free port)
// Prints `msg=listening url=http://HOST:PORT` on stderr once it accepts connections.
'use strict';
const http = require('node:http');

const arg = process.argv[2] || `127.0.0.1:${process.env.PORT || 0}`;
const colon = arg.lastIndexOf(':');
const host = arg.slice(0, colon) || '127.0.0.1';
const port = Number(arg.slice(colon + 1));
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`node-health: bad address '${arg}'\n`);
  process.exit(2);
}

const started = process.hrtime.bigint();
const environment = process.env.APP_ENV || process.env.NODE_ENV || 'development';

const server = http.createServer((req, res) => {
  if (req.url === '/api/health' && (req.method === 'GET' || req.method === 'HEAD')) {
    const body = JSON.stringify({
      status: 'healthy',
      timestamp: new Date().toISOString(),
      version: '1.0.0',
      service: 'node-health',
      uptime: Math.round(Number(process.hrtime.bigint() - started) / 1e6) / 1e3,
      environment,
    });
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  const body = '{"error":"not_found"}';
  res.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
});

server.listen(port, host, () => {
  const a = server.address();
  process.stderr.write(`msg=listening url=http://${a.address}:${a.port}\n`);
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections(); // keep-alive connections would hold close() open
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
