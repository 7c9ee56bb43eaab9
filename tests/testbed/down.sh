#!/usr/bin/env bash
# Tear down what tests/testbed/up.sh started. Idempotent.
#   down.sh         stop both sshd instances, remove sandbox containers /
#                   networks / volumes; dockerd keeps running (fast next up.sh)
#   down.sh --all   same, then stop dockerd too
# Sandbox resources = label dev.sandboxer.managed=true OR compose project
# name starting with "sbx-". Keys, known_hosts and the image are kept.
set -euo pipefail

STATE="${SANDBOXER_TESTBED_DIR:-/tmp/sandboxer-testbed}"
ALL=0
case "${1:-}" in
  --all) ALL=1 ;;
  "") ;;
  *) echo "usage: $0 [--all]" >&2; exit 2 ;;
esac

log() { printf '[testbed] %s\n' "$*" >&2; }

# proc_alive PID [COMM]: exists, not a zombie (PID 1 here reaps orphans
# lazily; kill -0 succeeds on zombies) and, if given, named COMM.
proc_alive() {
  local st comm
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ "$st" != Z* ]] || return 1
  [[ -z "${2:-}" ]] && return 0
  comm=$(ps -o comm= -p "$1" 2>/dev/null) || return 1
  [[ "$comm" == "$2" ]]
}

# stop_pid NAME PIDFILE COMM TIMEOUT_TENTHS: TERM the process if it is alive
# and really is COMM (a stale pid file may point at a recycled pid).
stop_pid() {
  local name=$1 pidf=$2 comm=$3 tries=$4 pid
  [[ -s "$pidf" ]] || { log "$name not running"; return 0; }
  pid=$(cat "$pidf")
  if proc_alive "$pid" "$comm"; then
    kill "$pid"
    for _ in $(seq 1 "$tries"); do proc_alive "$pid" || break; sleep 0.1; done
    if proc_alive "$pid"; then
      log "$name (pid $pid) ignored SIGTERM, sending SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
    log "$name stopped"
  else
    log "$name not running (stale pid file)"
  fi
  rm -f "$pidf"
}

# 1. sshd instances (only the listeners; sessions already open die with their clients)
stop_sshd() { stop_pid "sshd $1" "$STATE/sshd_$1.pid" sshd 50; }
stop_sshd 1
stop_sshd 2

# 2. sandbox resources
if timeout 10 docker info >/dev/null 2>&1; then
  # ids_of KIND: ids with the managed label, plus ids whose compose project starts with sbx-
  ids_of() {
    local kind=$1
    {
      docker "$kind" ls -q --filter label=dev.sandboxer.managed=true ${2:+"$2"}
      docker "$kind" ls ${2:+"$2"} --filter label=com.docker.compose.project \
        --format '{{.ID}} {{.Label "com.docker.compose.project"}}' | awk '$2 ~ /^sbx-/ {print $1}'
    } | sort -u
  }
  # containers first (they hold networks and volumes); -v drops anonymous volumes too
  mapfile -t ids < <(ids_of container -a)
  if ((${#ids[@]})); then
    log "removing ${#ids[@]} container(s)"
    docker rm -f -v "${ids[@]}" >/dev/null
  fi
  mapfile -t ids < <(ids_of network)
  if ((${#ids[@]})); then
    log "removing ${#ids[@]} network(s)"
    docker network rm "${ids[@]}" >/dev/null || log "some networks could not be removed"
  fi
  # volume ls prints names, not ids; .ID does not exist for volumes
  mapfile -t ids < <(
    {
      docker volume ls -q --filter label=dev.sandboxer.managed=true
      docker volume ls --filter label=com.docker.compose.project \
        --format '{{.Name}} {{.Label "com.docker.compose.project"}}' | awk '$2 ~ /^sbx-/ {print $1}'
    } | sort -u
  )
  if ((${#ids[@]})); then
    log "removing ${#ids[@]} volume(s)"
    docker volume rm -f "${ids[@]}" >/dev/null || log "some volumes could not be removed"
  fi
else
  log "docker not reachable, skipping container cleanup"
fi

# 3. dockerd (only with --all); dockerd stops its own containerd child
if ((ALL)); then
  stop_pid dockerd /var/run/docker.pid dockerd 300
fi
log "down done"
