// proc.mjs - child processes that die with the test, and their log lines.
//
// A test killed by its ctest timeout must not leave a broker or a daemon
// behind (it would hold ports and CPU for the rest of the run): children are
// started through util-linux's setpriv with PR_SET_PDEATHSIG, so the kernel
// kills them when the test process goes.  setpriv execs the program, so the
// pid is the program's own.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export function spawnTied(cmd, args, opts) {
  if (!SETPRIV) return spawn(cmd, args, opts);
  return spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', cmd, ...args], opts);
}

export const DEFAULT_TIMEOUT = 10000;

export function withTimeout(promise, ms, what) {
  let t;
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t));
}

// Start one of our daemons (hq, storenode): owner.proc, owner.exited, and
// every stderr line appended to owner.log and offered to owner.logWaiters.
// verboseEnv: the variable that echoes the lines, prefixed with [label].
export function startLogged(owner, label, bin, args, verboseEnv) {
  owner.log = [];
  const proc = spawnTied(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  owner.proc = proc;
  owner.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  let buf = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      owner.log.push(line);
      if (process.env[verboseEnv]) process.stderr.write(`[${label}] ${line}\n`);
      owner.logWaiters = owner.logWaiters.filter((w) => !w(line));
    }
  });
  return proc;
}

// Resolve with the first log line from index `from` on (already seen or
// future) matching re; failOnExit rejects as soon as the process exits.
export function waitLogged(owner, label, re, ms = DEFAULT_TIMEOUT, failOnExit = false, from = 0) {
  const seen = owner.log.slice(from).find((l) => re.test(l));
  if (seen) return Promise.resolve(seen);
  const p = new Promise((resolve, reject) => {
    owner.logWaiters.push((line) => (re.test(line) ? (resolve(line), true) : false));
    if (failOnExit) owner.exited.then((e) => reject(new Error(`${label} exited (${JSON.stringify(e)}):\n${owner.log.join('\n')}`)));
  });
  return withTimeout(p, ms, `${label} log ${re} (log so far:\n${owner.log.join('\n')})`);
}
