// A signed artifact link opened by a real browser (Debian's Chromium, headless, driven by
// playwright-core): the heap-snapshot answer's `download` URL starts a download whose bytes
// have the SHA-256 the server announced, and a link bound to another artifact is refused.
// usage: node browser_download_test.mjs PROFLAB_BIN
import {spawn} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, '..', 'node_modules');
const bin = process.argv[2];
let failed = 0, passed = 0;
function ok(name, cond, detail) {
  if (cond) { passed++; console.log(`ok - ${name}`); }
  else { failed++; console.log(`not ok - ${name}`); if (detail !== undefined) console.log(`#   ${String(detail).slice(0, 800)}`); }
}
if (!fs.existsSync(path.join(modules, 'playwright-core'))) {
  console.error('tests/consumers/node_modules is missing: run `make test` or `npm ci` in tests/consumers');
  process.exit(1);
}
const {chromium} = await import(pathToFileURL(path.join(modules, 'playwright-core', 'index.mjs')).href);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'proflab-dl-'));
const art = path.join(work, 'art');
fs.mkdirSync(art, {mode: 0o700});
fs.writeFileSync(path.join(art, 'cpu-other.bin'), crypto.randomBytes(5000));
const token = 'browser-test-token';
const log = path.join(work, 'server.log');
const server = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--artifacts', art], {
  env: {...process.env, LAB_ENABLE: 'true', LAB_TOKEN: token}, stdio: ['ignore', 'ignore', fs.openSync(log, 'w')],
});
let base;
for (let i = 0; i < 200 && !base; i++) {
  await new Promise(r => setTimeout(r, 50));
  const m = /msg=listening url=(http:\S+)/.exec(fs.readFileSync(log, 'utf8'));
  if (m) base = m[1];
}
if (!base) { console.error(fs.readFileSync(log, 'utf8')); process.exit(1); }

// one connection per call, closed after it (an idle keep-alive connection is not what is tested)
const agent = new http.Agent({keepAlive: false});
function call(url, method, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {method, agent, headers}, res => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', c => { text += c; });
      res.on('end', () => resolve({status: res.statusCode, headers: res.headers, text}));
    });
    req.on('error', reject);
    req.end();
  });
}

let browser;
try {
  const res = await call(`${base}/api/lab/heap-snapshot`, 'POST', {'x-lab-token': token});
  const snap = JSON.parse(res.text);
  ok('heap-snapshot answers 200 with a download link', res.status === 200 && typeof snap.download === 'string', res.text);
  const want = crypto.createHash('sha256').update(fs.readFileSync(snap.filePath)).digest('base64');
  const head = await call(snap.download, 'HEAD');
  ok('the link answers HEAD with Repr-Digest of the file', head.headers['repr-digest'] === `sha-256=:${want}:`,
     head.headers['repr-digest']);

  browser = await chromium.launch({executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run']});
  const context = await browser.newContext({acceptDownloads: true});
  const page = await context.newPage();
  const [download] = await Promise.all([
    page.waitForEvent('download', {timeout: 20000}),
    page.goto(snap.download).catch(() => {}), // a navigation that becomes a download rejects
  ]);
  const saved = path.join(work, 'saved');
  await download.saveAs(saved);
  ok('Chromium downloads it under the artifact name', download.suggestedFilename() === path.basename(snap.filePath),
     download.suggestedFilename());
  const got = crypto.createHash('sha256').update(fs.readFileSync(saved)).digest('base64');
  ok("the browser's bytes have the announced SHA-256", got === want, `${got} vs ${want}`);
  ok('no failure reported by the browser', (await download.failure()) === null);

  // the same token on another artifact: the browser shows the JSON refusal
  const other = snap.download.replace(/artifacts\/[^?]+/, 'artifacts/cpu-other.bin');
  const resp = await page.goto(other);
  const body = await resp.text();
  ok('a link token on another artifact is 403 in the browser', resp.status() === 403 && body.includes('out_of_scope'),
     `${resp.status()} ${body}`);
  const bad = await page.goto(snap.download.slice(0, -3) + 'AAA');
  ok('a tampered link is 401 in the browser', bad.status() === 401, String(bad.status()));
} catch (e) {
  ok('no exception', false, e.stack);
} finally {
  if (browser) await browser.close();
  server.kill('SIGTERM');
  await new Promise(r => server.on('exit', r));
  ok('the server exits 0', server.exitCode === 0, `${server.exitCode} ${fs.readFileSync(log, 'utf8').slice(-800)}`);
  ok('the token never reaches the log', !fs.readFileSync(log, 'utf8').includes('pl1.'));
  fs.rmSync(work, {recursive: true, force: true});
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
