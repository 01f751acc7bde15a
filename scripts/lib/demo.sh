# shellcheck shell=bash
# scripts/lib/demo.sh - the process table of scripts/demo: start a program in
# its own session with its output in a log file, wait (bounded) until it is
# ready, notice when one dies, stop them all in stages.  Sourced after
# common.sh, never run.
#
# Why each child gets its own session (setsid): Ctrl-C sends SIGINT to the
# terminal's foreground process group.  Without job control the children
# would share the script's group, and mosquitto, hq and the store nodes would
# all catch the same SIGINT at once, so the broker could go before the boxes
# had said goodbye.  In their own sessions only the script sees the signal,
# and its trap stops them in order: simulator, then hq and the stores, the
# broker last.
#
# Invariants:
#   - DEMO_NAMES lists every started process in start order; DEMO_PID[name]
#     and DEMO_LOG[name] are its pid and log file; DEMO_STAGE[name] its stop
#     stage (1 stops first).
#   - a pid is ours: we started it and it is our child, so `wait PID` reaps it
#     and gives its status; nothing here signals a process it did not start.

declare -a DEMO_NAMES=()
declare -A DEMO_PID=() DEMO_LOG=() DEMO_STAGE=() DEMO_EXIT=()

# Stop bound per stage (s): the programs commit and exit well within it.
DEMO_STOP_WAIT="${DEMO_STOP_WAIT:-10}"

# The parent-death signal (setpriv, util-linux like setsid): if the script
# dies without its traps (kill -9), the kernel sends each child SIGTERM, so
# nothing is left running.  Without setpriv (not Debian) that safety net is
# missing, nothing else changes.
if setpriv --pdeathsig TERM true 2>/dev/null; then
  DEMO_PDEATH=(setpriv --pdeathsig TERM --)
else
  DEMO_PDEATH=()
fi

# demo_spawn NAME STAGE LOG CMD...: start CMD in a new session, stdin from
# /dev/null, stdout and stderr appended to LOG (LOG "-" keeps stdout on the
# terminal, stderr still goes to the terminal too).
demo_spawn() {
  local name="$1" stage="$2" log="$3"
  shift 3
  if [[ "$log" == - ]]; then
    setsid "${DEMO_PDEATH[@]}" "$@" </dev/null &
  else
    setsid "${DEMO_PDEATH[@]}" "$@" </dev/null >>"$log" 2>&1 &
  fi
  # A background child of a shell without job control is not a process
  # group leader, so setsid(1) calls setsid(2) and execs (as does setpriv):
  # $! is the program.
  DEMO_PID[$name]=$!
  DEMO_LOG[$name]="$log"
  DEMO_STAGE[$name]="$stage"
  DEMO_NAMES+=("$name")
}

# demo_alive PID: true while the process runs (a zombie counts as dead).
demo_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ "$state" != Z ]]
}

# demo_tail NAME: the last lines of NAME's log, for a failure message.
demo_tail() {
  local name="$1" log="${DEMO_LOG[$1]:-}"
  [[ -n "$log" && "$log" != - && -f "$log" ]] || return 0
  printf -- '---- last lines of %s (%s) ----\n' "$name" "$log" >&2
  tail -n 25 "$log" >&2
  printf -- '---- end of %s ----\n' "$name" >&2
}

# demo_http_get PORT PATH: GET http://127.0.0.1:PORT/PATH with bash's
# /dev/tcp (a fresh machine may have no curl), bounded to 2 s.  Prints the
# body; fails unless the status is 200.
demo_http_get() {
  local resp
  # shellcheck disable=SC2016 # $0 and $1 belong to the inner bash
  resp="$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$1" >&3
    cat <&3' "$1" "$2" 2>/dev/null)" || return 1
  [[ "$resp" =~ ^HTTP/1\.[01]\ 200 ]] || return 1
  printf '%s\n' "${resp#*$'\r\n\r\n'}"
}

# demo_port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
demo_port_open() {
  # shellcheck disable=SC2016 # $0 belongs to the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" 2>/dev/null
}

# demo_wait_ready NAME WHAT SECONDS CHECK...: poll CHECK (a command) every
# 0.1 s until it succeeds.  If NAME dies first, or SECONDS pass, print its
# log tail and fail (the caller stops everything).
demo_wait_ready() {
  local name="$1" what="$2" secs="$3"
  shift 3
  local deadline=$((SECONDS + secs))
  while ! "$@" >/dev/null 2>&1; do
    if ! demo_alive "${DEMO_PID[$name]}"; then
      local rc=0
      wait "${DEMO_PID[$name]}" 2>/dev/null || rc=$?
      printf 'error: %s exited (status %d) before %s\n' "$name" "$rc" "$what" >&2
      demo_tail "$name"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      printf 'error: %s: no %s after %d s\n' "$name" "$what" "$secs" >&2
      demo_tail "$name"
      return 1
    fi
    sleep 0.1
  done
}

# demo_stop_stage STAGE: SIGTERM every live process of STAGE, wait for them
# all up to DEMO_STOP_WAIT s, SIGKILL (and say so) whoever is still there.
# Prints one line per process with its exit status.
demo_stop_stage() {
  local stage="$1" name pid
  local -a mine=()
  for name in "${DEMO_NAMES[@]}"; do
    [[ "${DEMO_STAGE[$name]}" == "$stage" ]] || continue
    pid="${DEMO_PID[$name]}"
    mine+=("$name")
    if demo_alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  ((${#mine[@]})) || return 0
  local deadline=$((SECONDS + DEMO_STOP_WAIT)) busy
  while :; do
    busy=0
    for name in "${mine[@]}"; do
      if demo_alive "${DEMO_PID[$name]}"; then busy=1; fi
    done
    ((busy && SECONDS < deadline)) || break
    sleep 0.1
  done
  local rc
  for name in "${mine[@]}"; do
    pid="${DEMO_PID[$name]}"
    if demo_alive "$pid"; then
      retail_warn "$name (pid $pid) still running after ${DEMO_STOP_WAIT} s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null
    fi
    rc=0
    wait "$pid" 2>/dev/null || rc=$?
    # shellcheck disable=SC2034 # read by scripts/demo
    DEMO_EXIT[$name]="$rc"
  done
}

# demo_stop_all: every stage in order (1, 2, 3, ...); safe to call twice.
demo_stop_all() {
  local stage name max=0
  for name in "${DEMO_NAMES[@]}"; do
    if ((DEMO_STAGE[$name] > max)); then max="${DEMO_STAGE[$name]}"; fi
  done
  for ((stage = 1; stage <= max; stage++)); do demo_stop_stage "$stage"; done
}

# demo_first_dead: print the name of a process that is no longer running
# (start order); fail if all run.
demo_first_dead() {
  local name
  for name in "${DEMO_NAMES[@]}"; do
    if ! demo_alive "${DEMO_PID[$name]}"; then
      printf '%s\n' "$name"
      return 0
    fi
  done
  return 1
}

# demo_json_str TEXT: TEXT as a JSON string (quotes, backslashes and control
# characters escaped; UTF-8 passes through).
demo_json_str() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  s="${s//$'\t'/\\t}"
  printf '"%s"' "$s"
}

# demo_random_hex BYTES: BYTES random bytes as lower-case hex.
demo_random_hex() {
  od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

# demo_random_pin: a 4-digit PIN, not all one digit and not a run (1234).
demo_random_pin() {
  local pin n
  while :; do
    n=$((16#$(demo_random_hex 2) % 10000))
    printf -v pin '%04d' "$n"
    [[ "$pin" =~ ^(.)\1\1\1$ || "0123456789" == *"$pin"* || "9876543210" == *"$pin"* ]] || break
  done
  printf '%s\n' "$pin"
}
