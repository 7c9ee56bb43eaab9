#!/usr/bin/env bash
# The hand-rolled `make e2e` that ext.compose-ssh replaces, as the baseline of the compose
# benchmark: every step is its own ssh invocation (its own connection and handshake), the repo is
# rsynced in full to a fresh directory (no cache), and the stack is polled with `compose ps` until
# every service is up (and healthy, where it has a healthcheck), as a careful Makefile would.
#
#   ssh mkdir → rsync → ssh `compose up -d` → ssh `compose ps` (until ready) → ssh `compose down -v`
#   → ssh rm -rf
#
# Parameters (environment):
#   BASELINE_HOST, BASELINE_PORT (22), BASELINE_USER, BASELINE_KEY, BASELINE_KNOWN_HOSTS
#   BASELINE_REPO          local directory to sync
#   BASELINE_DIR           remote directory to create (must not exist), e.g. /srv/e2e/myrepo
#   BASELINE_PROJECT       compose project name ([a-z0-9][a-z0-9_-]*)
#   BASELINE_COMPOSE_CMD   `docker compose` (default) or `docker-compose`
#   BASELINE_READY_TIMEOUT seconds to wait for the stack (120)
#   BASELINE_WAIT_HEALTHY  1 (default): poll `ps` until ready; 0: one `ps`, as a naive Makefile does
#
# Output: progress on stderr; on stdout one JSON line with per-phase wall times in milliseconds:
#   {"ok":true,"phases":{"setup":…,"sync":…,"up":…,"ready":…,"down":…},"create_ms":…,"total_ms":…,
#    "compose_down_ms":…,"remove_ms":…,"ssh_invocations":…,"ready_polls":…}
# Whatever happens, a stack it started is taken down and its directory removed (trap on EXIT).
set -euo pipefail

: "${BASELINE_HOST:?}" "${BASELINE_USER:?}" "${BASELINE_KEY:?}" "${BASELINE_KNOWN_HOSTS:?}"
: "${BASELINE_REPO:?}" "${BASELINE_DIR:?}" "${BASELINE_PROJECT:?}"
PORT="${BASELINE_PORT:-22}"
COMPOSE="${BASELINE_COMPOSE_CMD:-docker compose}"
READY_TIMEOUT="${BASELINE_READY_TIMEOUT:-120}"
WAIT_HEALTHY="${BASELINE_WAIT_HEALTHY:-1}"
[[ "$BASELINE_PROJECT" =~ ^[a-z0-9][a-z0-9_-]*$ ]] || { echo "bad BASELINE_PROJECT" >&2; exit 2; }
[[ "$BASELINE_DIR" == /* ]] || { echo "BASELINE_DIR must be absolute" >&2; exit 2; }

SSH_OPTS=(-p "$PORT" -i "$BASELINE_KEY" -o IdentitiesOnly=yes -o BatchMode=yes
  -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$BASELINE_KNOWN_HOSTS"
  -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=10 -F /dev/null)
DEST="$BASELINE_USER@$BASELINE_HOST"
QDIR=$(printf %q "$BASELINE_DIR")
QPROJECT=$(printf %q "$BASELINE_PROJECT")
SSH_COUNT=0
POLLS=0
PS_OUT=$(mktemp)

now_ms() { date +%s%3N; }
remote() {
  SSH_COUNT=$((SSH_COUNT + 1))
  # shellcheck disable=SC2029 # the remote command is built here, its words quoted with printf %q
  ssh "${SSH_OPTS[@]}" "$DEST" "$@"
}
compose() { remote "cd $QDIR && $COMPOSE -p $QPROJECT $*"; }

STARTED=0 # 1 once `up` may have created something
DOWN=0    # 1 once down and rm -rf have run
cleanup() {
  local code=$?
  rm -f "$PS_OUT"
  if [[ $DOWN == 0 ]]; then
    if [[ $STARTED == 1 ]]; then compose down -v --remove-orphans >/dev/null 2>&1 || true; fi
    remote "rm -rf -- $QDIR" >/dev/null 2>&1 || true
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Ready: at least one service row, and none starting, unhealthy, exited or restarting (v1 and v2 `ps`).
stack_ready() {
  local rows
  rows=$(printf '%s\n' "$1" | grep -v -E '^(Name|NAME)[[:space:]]|^-+$' | grep -v '^[[:space:]]*$' || true)
  [[ -n "$rows" ]] || return 1
  ! printf '%s\n' "$rows" | grep -q -i -E 'starting|unhealthy|exit|restarting|created|paused'
}
stack_failed() { printf '%s\n' "$1" | grep -q -E '[[:space:]]Exit [0-9]|exited \([1-9]'; }

t0=$(now_ms)
echo "baseline: ssh mkdir $BASELINE_DIR" >&2
remote "mkdir -p -- $QDIR"
t1=$(now_ms)

echo "baseline: rsync $BASELINE_REPO/ → $DEST:$BASELINE_DIR/" >&2
rsync -a --delete -e "ssh ${SSH_OPTS[*]}" -- "${BASELINE_REPO%/}/" "$DEST:$BASELINE_DIR/"
t2=$(now_ms)

echo "baseline: $COMPOSE -p $BASELINE_PROJECT up -d" >&2
STARTED=1
compose up -d
t3=$(now_ms)

echo "baseline: $COMPOSE -p $BASELINE_PROJECT ps (until ready)" >&2
deadline=$(($(date +%s) + READY_TIMEOUT))
while :; do
  POLLS=$((POLLS + 1))
  compose ps >"$PS_OUT" # not $(…): a subshell would lose the ssh count
  status=$(<"$PS_OUT")
  [[ $WAIT_HEALTHY == 0 ]] && break
  stack_ready "$status" && break
  if stack_failed "$status" || (($(date +%s) > deadline)); then
    printf 'baseline: stack not ready:\n%s\n' "$status" >&2
    exit 1
  fi
  sleep 1
done
t4=$(now_ms)

echo "baseline: $COMPOSE -p $BASELINE_PROJECT down -v" >&2
compose down -v --remove-orphans
t5=$(now_ms)
echo "baseline: rm -rf $BASELINE_DIR" >&2
remote "rm -rf -- $QDIR"
DOWN=1
t6=$(now_ms)

# "down" is the whole teardown (compose down + rm -rf), as sand-boxer's destroy is; the parts follow.
printf '{"ok":true,"phases":{"setup":%d,"sync":%d,"up":%d,"ready":%d,"down":%d},"compose_down_ms":%d,"remove_ms":%d,"create_ms":%d,"total_ms":%d,"ssh_invocations":%d,"ready_polls":%d}\n' \
  $((t1 - t0)) $((t2 - t1)) $((t3 - t2)) $((t4 - t3)) $((t6 - t4)) $((t5 - t4)) $((t6 - t5)) \
  $((t4 - t0)) $((t6 - t0)) $((SSH_COUNT + 1)) "$POLLS"
