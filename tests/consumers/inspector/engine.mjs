// engine.mjs: what the inspector tests share: TAP lines, and a proflab engine started with
// --inspect whose HTTP and WebSocket addresses are read from its log.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function tap() {
  const t = {passed: 0, failed: 0};
  t.check = (name, cond, detail) => {
    if (cond) { t.passed++; console.log(`ok - ${name}`); return; }
    t.failed++;
    console.log(`not ok - ${name}`);
    if (detail !== undefined) console.log(`#   ${JSON.stringify(detail).slice(0, 1500)}`);
  };
  return t;
}

// Starts `proflab serve` with args and env over LAB_ENABLE=true and LAB_TOKEN=token, its log in
// work/server.log. Resolves to {child, exited, base, ws, log()}: base and ws are undefined when
// the engine did not listen (it exited, or refused to start) within 10 s.
export async function startEngine(bin, work, token, args, env = {}) {
  const logPath = path.join(work, 'server.log');
  const fd = fs.openSync(logPath, 'w');
  const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--artifacts', path.join(work, 'art'), ...args], {
    env: {...process.env, LAB_ENABLE: 'true', LAB_TOKEN: token, ...env}, stdio: ['ignore', 'ignore', fd],
  });
  fs.closeSync(fd);
  const exited = new Promise(r => child.on('exit', code => r(code)));
  let done = false;
  exited.then(() => { done = true; });
  const log = () => fs.readFileSync(logPath, 'utf8');
  let base, ws;
  for (let i = 0; i < 200 && !ws && !done; i++) {
    await new Promise(r => setTimeout(r, 50));
    base = (/msg=listening url=(http:\S+)/.exec(log()) || [])[1];
    ws = (/msg="inspector listening" url=(ws:\S+)/.exec(log()) || [])[1];
  }
  return {child, exited, base, ws, log};
}
