// proc.mjs - child processes that die with the test.
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
