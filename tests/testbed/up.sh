#!/usr/bin/env bash
# Bring up the sand-boxer e2e testbed on THIS machine (Debian 12, root):
#   - a real Docker engine (Debian's docker.io, dockerd started by hand: no systemd here)
#   - two real OpenSSH servers: 127.0.0.1:2222 ("the host") and 127.0.0.2:2222 ("the VM")
#   - a tiny offline image sandboxer-test/busybox:latest built FROM scratch
#   - keys / known_hosts / env.sh in the state dir
# Idempotent: every step checks first and does nothing when already done, so a
# warm run takes ~1.5 s (mostly docker-compose startup). Progress goes to stderr.
set -euo pipefail

STATE="${SANDBOXER_TESTBED_DIR:-/tmp/sandboxer-testbed}"
TB_USER=sbxtest
PORT=2222
HOST1=127.0.0.1
HOST2=127.0.0.2
HOST3=127.0.0.3
IMAGE=sandboxer-test/busybox:latest
# Extra dockerd flags. Empty by default because the defaults (overlay2,
# iptables, bridge) work on this kernel; override if a machine needs e.g.
# "--storage-driver=vfs --iptables=false".
DOCKERD_ARGS="${SANDBOXER_TESTBED_DOCKERD_ARGS:-}"

log() { printf '[testbed] %s\n' "$*" >&2; }
die() { printf '[testbed] ERROR: %s\n' "$*" >&2; exit 1; }
# proc_alive PID [COMM]: PID exists, is not a zombie (this machine's PID 1
# reaps orphans lazily, and kill -0 succeeds on zombies) and, if given, is COMM.
proc_alive() {
  local st comm
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ "$st" != Z* ]] || return 1
  [[ -z "${2:-}" ]] && return 0
  comm=$(ps -o comm= -p "$1" 2>/dev/null) || return 1
  [[ "$comm" == "$2" ]]
}

[[ $(id -u) -eq 0 ]] || die "must run as root (installs packages, starts dockerd/sshd)"

START_TS=$(date +%s)
mkdir -p "$STATE"
# 0755: sbxtest must not need anything in here, but tests running as other
# users may want to read env.sh / known_hosts.
chmod 0755 "$STATE"

# ---------------------------------------------------------------------------
# 1. Debian packages (only the missing ones)
# ---------------------------------------------------------------------------
# podman + podman-compose (Debian's 4.3 / 1.0.3): the second compose runtime the e2e suite proves
# (tests/e2e/podman.itg.test.ts); uidmap, slirp4netns and fuse-overlayfs are what rootless Podman needs.
PKGS=(openssh-server openssh-client docker.io docker-compose rsync busybox-static
      iproute2 procps iptables curl postgresql
      podman podman-compose uidmap slirp4netns fuse-overlayfs catatonit)
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  log "installing: ${missing[*]}"
  # No init system here: without a policy-rc.d the postinst scripts try
  # 'invoke-rc.d docker start' etc. Exit 101 = "action forbidden", so they
  # skip starting services and we start dockerd/sshd ourselves below.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT  # remove ours even if apt fails
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >"$STATE/apt.log" 2>&1 || { tail -20 "$STATE/apt.log" >&2; die "apt-get update failed"; }
  apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$STATE/apt.log" 2>&1 \
    || { tail -30 "$STATE/apt.log" >&2; die "apt-get install failed (log: $STATE/apt.log)"; }
  log "packages installed"
fi

# NOTE: this machine ships a static docker CLI 28.x in /usr/local/bin that
# shadows Debian's /usr/bin/docker (20.10). Both talk to the 20.10 daemon (the
# 28.x client negotiates API 1.41). We use whatever `docker` is on PATH, which
# is also what a non-interactive ssh session of sbxtest gets.

# ---------------------------------------------------------------------------
# 2. dockerd
# ---------------------------------------------------------------------------
docker_ok() { timeout 10 docker info >/dev/null 2>&1; }
if docker_ok; then
  log "dockerd already running"
else
  # A dockerd that is still starting up owns /var/run/docker.pid: don't start a second one.
  dpid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [[ -n "$dpid" ]] && proc_alive "$dpid" dockerd; then
    log "dockerd (pid $dpid) is starting, waiting"
  else
    log "starting dockerd${DOCKERD_ARGS:+ $DOCKERD_ARGS}, log: $STATE/dockerd.log"
    # dockerd refuses to start while its pid file names a live pid, and waits
    # for "still running" containerd of its pid file; after a kill -9 both
    # stay zombies here for a while (lazy PID 1): drop such stale pid files.
    rm -f /var/run/docker.pid
    cpid=$(cat /var/run/docker/containerd/containerd.pid 2>/dev/null || true)
    if [[ -n "$cpid" ]] && ! proc_alive "$cpid" containerd; then
      rm -f /var/run/docker/containerd/containerd.pid
    fi
    # setsid+nohup: detach from this shell so it survives the script (and the
    # caller's process group). Both exec, so $! is dockerd's pid. dockerd
    # launches its own containerd child.
    # shellcheck disable=SC2086  # DOCKERD_ARGS is intentionally word-split
    setsid nohup /usr/sbin/dockerd $DOCKERD_ARGS >>"$STATE/dockerd.log" 2>&1 </dev/null &
    dpid=$!
  fi
  for _ in $(seq 1 120); do
    docker_ok && break
    proc_alive "$dpid" || break  # it died: no point in waiting
    sleep 0.5
  done
  if ! docker_ok; then
    tail -30 "$STATE/dockerd.log" >&2 || true
    die "dockerd did not come up (see $STATE/dockerd.log; try SANDBOXER_TESTBED_DOCKERD_ARGS)"
  fi
  log "dockerd up ($(docker info --format '{{.ServerVersion}} {{.Driver}}' 2>/dev/null))"
fi

# ---------------------------------------------------------------------------
# 3. user sbxtest + workspace dirs
# ---------------------------------------------------------------------------
if ! id "$TB_USER" >/dev/null 2>&1; then
  log "creating user $TB_USER"
  useradd --create-home --shell /bin/bash --groups docker "$TB_USER"
fi
# useradd leaves '!' (locked) in /etc/shadow; with UsePAM no, sshd refuses
# public-key logins for locked accounts. '*' = no password, but not locked.
if [[ "$(getent shadow "$TB_USER" | cut -d: -f2)" != '*' ]]; then
  usermod -p '*' "$TB_USER"
fi
if ! id -nG "$TB_USER" | tr ' ' '\n' | grep -qx docker; then
  usermod -aG docker "$TB_USER"
fi
TB_HOME=$(getent passwd "$TB_USER" | cut -d: -f6)
# /build: vm-packer workspace base; /srv/sandboxer: base dir for compose sandboxes.
for d in /build /srv/sandboxer; do
  mkdir -p "$d"
  [[ "$(stat -c %U "$d")" == "$TB_USER" ]] || chown "$TB_USER:$TB_USER" "$d"
done

# ---------------------------------------------------------------------------
# 4. keys and known_hosts
# ---------------------------------------------------------------------------
genkey() { # genkey FILE COMMENT -> ed25519, no passphrase, only if missing
  [[ -s "$1" && -s "$1.pub" ]] || { rm -f "$1" "$1.pub"; ssh-keygen -q -t ed25519 -N '' -C "$2" -f "$1"; }
}
genkey "$STATE/id_ed25519"      "sandboxer-testbed-client"
genkey "$STATE/wrong_key"       "sandboxer-testbed-wrong-key (NOT authorized)"
genkey "$STATE/ssh_host_key_1"  "sandboxer-testbed-host1"
genkey "$STATE/ssh_host_key_2"  "sandboxer-testbed-host2"
genkey "$STATE/ssh_host_key_3"  "sandboxer-testbed-host3-podman"
genkey "$STATE/bad_host_key"    "sandboxer-testbed-bad-host-key"
# ssh(1) and sshd(8) refuse group/other-readable private keys.
chmod 0600 "$STATE/id_ed25519" "$STATE/wrong_key" "$STATE"/ssh_host_key_? "$STATE/bad_host_key"

cp "$STATE/id_ed25519.pub" "$STATE/authorized_keys"
chmod 0644 "$STATE/authorized_keys"  # sshd 3 reads it as root: writable by root only
# sshd reads authorized_keys as the user, and StrictModes wants every dir up
# to it non-world-writable (so not under /tmp): install it in ~sbxtest/.ssh.
install -d -m 0700 -o "$TB_USER" -g "$TB_USER" "$TB_HOME/.ssh"
if ! cmp -s "$STATE/authorized_keys" "$TB_HOME/.ssh/authorized_keys"; then
  install -m 0600 -o "$TB_USER" -g "$TB_USER" "$STATE/authorized_keys" "$TB_HOME/.ssh/authorized_keys"
fi

hostline() { # hostline ADDR KEYFILE -> "[addr]:port keytype base64"
  printf '[%s]:%s %s\n' "$1" "$PORT" "$(cut -d' ' -f1,2 "$2.pub")"
}
{ hostline "$HOST1" "$STATE/ssh_host_key_1"; hostline "$HOST2" "$STATE/ssh_host_key_2"; hostline "$HOST3" "$STATE/ssh_host_key_3"; } >"$STATE/known_hosts"
# Same file, but 127.0.0.1's key is wrong (for host-key-mismatch tests); 127.0.0.2 stays correct.
{ hostline "$HOST1" "$STATE/bad_host_key"; hostline "$HOST2" "$STATE/ssh_host_key_2"; } >"$STATE/known_hosts.bad"
chmod 0644 "$STATE/known_hosts" "$STATE/known_hosts.bad"

# ---------------------------------------------------------------------------
# 5. two sshd instances
# ---------------------------------------------------------------------------
mkdir -p /run/sshd  # privilege-separation dir; normally made by the init script
chmod 0755 /run/sshd

sshd_answers() { # sshd_answers ADDR -> true if an SSH banner comes back
  local banner
  banner=$(timeout 3 bash -c "exec 3<>/dev/tcp/$1/$PORT && head -c 8 <&3" 2>/dev/null) || return 1
  [[ "$banner" == SSH-2.0* ]]
}

start_sshd() { # start_sshd N ADDR [USERS PERMIT_ROOT AUTHORIZED_KEYS_FILE STRICT_MODES]
  local n=$1 addr=$2 cfg="$STATE/sshd_config_$1" pidf="$STATE/sshd_$1.pid" new
  local users=${3:-$TB_USER} root=${4:-no} keys=${5:-.ssh/authorized_keys} strict=${6:-}
  new=$(cat <<EOF
# generated by tests/testbed/up.sh -- sshd instance $n
ListenAddress $addr:$PORT
HostKey $STATE/ssh_host_key_$n
PidFile $pidf
# VERBOSE logs one "Connection from" + one "Accepted publickey" line per
# connection, so tests can count connections from the log (-E file).
LogLevel VERBOSE
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin $root
AllowUsers $users
AuthorizedKeysFile $keys${strict:+
StrictModes $strict}
MaxSessions 10
X11Forwarding no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
)
  local running=0
  if [[ -s "$pidf" ]] && proc_alive "$(cat "$pidf")" sshd && sshd_answers "$addr"; then
    running=1
  fi
  if ((running)) && [[ -f "$cfg" ]] && [[ "$new" == "$(cat "$cfg")" ]]; then
    log "sshd $n ($addr:$PORT) already running"
    return
  fi
  if ((running)); then
    log "sshd $n config changed, restarting"
    kill "$(cat "$pidf")" 2>/dev/null || true
    for _ in $(seq 1 20); do proc_alive "$(cat "$pidf")" || break; sleep 0.1; done
  fi
  # A listener we have no pid file for (state dir wiped while it ran) has
  # stale host keys and blocks the port: stop it if it is an sshd.
  local stray
  for stray in $(ss -Hltnp src "$addr:$PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
    if proc_alive "$stray" sshd; then
      log "stopping stray sshd (pid $stray) on $addr:$PORT"
      kill "$stray" 2>/dev/null || true
      for _ in $(seq 1 20); do proc_alive "$stray" || break; sleep 0.1; done
    else
      die "$addr:$PORT is taken by $(cat "/proc/$stray/comm" 2>/dev/null || echo "pid $stray")"
    fi
  done
  printf '%s\n' "$new" >"$cfg"
  /usr/sbin/sshd -t -f "$cfg" || die "sshd config $cfg invalid"
  # sshd daemonizes itself; -E appends to the log file (never truncated, so
  # tests should count lines relative to a starting offset). Pre-create it
  # 0644 so non-root test runners can read it (sshd would create it 0600).
  touch "$STATE/sshd_$n.log"; chmod 0644 "$STATE/sshd_$n.log"
  /usr/sbin/sshd -f "$cfg" -E "$STATE/sshd_$n.log"
  for _ in $(seq 1 50); do sshd_answers "$addr" && break; sleep 0.1; done
  sshd_answers "$addr" || { tail -20 "$STATE/sshd_$n.log" >&2; die "sshd $n did not start on $addr:$PORT"; }
  log "sshd $n started on $addr:$PORT (pid $(cat "$pidf"))"
}
start_sshd 1 "$HOST1"
start_sshd 2 "$HOST2"
# 127.0.0.3: the Podman host, reached as root (rootful Podman needs uid 0). Its key list is the
# state dir's (root's own ~/.ssh is left alone); StrictModes off because that dir is under /tmp.
start_sshd 3 "$HOST3" "root $TB_USER" prohibit-password "$STATE/authorized_keys" no

# ---------------------------------------------------------------------------
# 6. offline image sandboxer-test/busybox:latest
# ---------------------------------------------------------------------------
# No registry is reachable, so build a rootfs from Debian's static busybox and
# `docker import` it (no builder / buildx needed).
busybox_rootfs_tar() { # the image's filesystem, as a tar on stdout
  local root
  root=$(mktemp -d)
  mkdir -p "$root"/{bin,etc,tmp,srv,proc,sys,dev,root,var/www,usr}
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  # relative symlinks for every applet (busybox --install would point them at
  # the host's /usr/bin/busybox path, which the image does not have)
  for a in $(/bin/busybox --list); do
    [[ "$a" == busybox ]] || ln -s busybox "$root/bin/$a"
  done
  ln -s ../bin "$root/usr/bin"; ln -s ../bin "$root/usr/sbin"; ln -s bin "$root/sbin"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar -C "$root" -c .
  rm -rf "$root"
}
import_busybox() { # import_busybox ENGINE...: `<engine> import` of the rootfs as $IMAGE
  busybox_rootfs_tar | "$@" import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'CMD ["sh"]' \
      -m 'sandboxer testbed busybox (from Debian busybox-static)' \
      - "$IMAGE" >/dev/null 2>&1
}
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE present"
else
  log "building image $IMAGE"
  import_busybox docker
  log "image $IMAGE built"
fi

# ---------------------------------------------------------------------------
# 6b. Podman (the second compose runtime): rootful as root via sshd 3, rootless as $TB_USER
# ---------------------------------------------------------------------------
# This VM's root lacks CAP_SYS_RESOURCE, so Podman's default ulimits (nofile and nproc
# raised to the maximum) make every container fail to start ("error setting rlimit type 7:
# operation not permitted"): pin them to what the processes here already have.
CONTAINERS_CONF=/etc/containers/containers.conf
if [[ ! -e "$CONTAINERS_CONF" ]] || grep -q 'generated by sand-boxer' "$CONTAINERS_CONF"; then
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [[ "$nofile" =~ ^[0-9]+$ ]] && ((nofile <= 65536)) || nofile=65536
  [[ "$nproc" =~ ^[0-9]+$ ]] && ((nproc <= 32768)) || nproc=32768
  conf="# generated by sand-boxer tests/testbed/up.sh: containers cannot raise limits on this VM
[containers]
default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]"
  if [[ "$(cat "$CONTAINERS_CONF" 2>/dev/null)" != "$conf" ]]; then
    mkdir -p /etc/containers
    printf '%s\n' "$conf" >"$CONTAINERS_CONF"
    log "wrote $CONTAINERS_CONF (ulimits nofile=$nofile nproc=$nproc)"
  fi
fi
# Rootless Podman's network (slirp4netns) opens /dev/net/tun as the user; udev makes it 0666 on a
# standard Debian, and this VM has no udev.
if [[ -c /dev/net/tun && "$(stat -c %a /dev/net/tun)" != 666 ]]; then chmod 0666 /dev/net/tun; fi
if podman image exists "$IMAGE" 2>/dev/null; then
  log "podman image $IMAGE present"
else
  log "building podman image $IMAGE"
  import_busybox podman
fi
# Rootless: the same image in $TB_USER's own storage (XDG_RUNTIME_DIR as an SSH login has none here).
TB_UID=$(id -u "$TB_USER")
if ! su - "$TB_USER" -c "XDG_RUNTIME_DIR=/tmp/podman-run-$TB_UID podman image exists $IMAGE" >/dev/null 2>&1; then
  log "building rootless podman image $IMAGE for $TB_USER"
  podman save "$IMAGE" | su - "$TB_USER" -c "XDG_RUNTIME_DIR=/tmp/podman-run-$TB_UID podman load" >/dev/null 2>&1 \
    || log "WARNING: rootless podman image for $TB_USER failed"
fi
# Where root's compose sandboxes go on the Podman host.
mkdir -p /srv/sandboxer-podman

# ---------------------------------------------------------------------------
# 7. env.sh
# ---------------------------------------------------------------------------
# Compose commands that really work here, separated by COMMAS (an entry may
# contain a space: "docker compose").
compose_cmds=()
docker-compose version >/dev/null 2>&1 && compose_cmds+=("docker-compose")
docker compose version >/dev/null 2>&1 && compose_cmds+=("docker compose")
((${#compose_cmds[@]})) || die "no working compose command"
compose_joined=$(IFS=,; printf '%s' "${compose_cmds[*]}")

cat >"$STATE/env.sh.tmp" <<EOF
# generated by tests/testbed/up.sh -- source me
export SANDBOXER_TESTBED_DIR='$STATE'
export SANDBOXER_TESTBED_USER='$TB_USER'
export SANDBOXER_TESTBED_KEY='$STATE/id_ed25519'
export SANDBOXER_TESTBED_WRONG_KEY='$STATE/wrong_key'
export SANDBOXER_TESTBED_KNOWN_HOSTS='$STATE/known_hosts'
export SANDBOXER_TESTBED_KNOWN_HOSTS_BAD='$STATE/known_hosts.bad'
export SANDBOXER_TESTBED_HOST1='$HOST1'
export SANDBOXER_TESTBED_HOST2='$HOST2'
export SANDBOXER_TESTBED_PORT='$PORT'
export SANDBOXER_TESTBED_IMAGE='$IMAGE'
export SANDBOXER_TESTBED_COMPOSE_CMDS='$compose_joined'
export SANDBOXER_TESTBED_SSHD_LOG1='$STATE/sshd_1.log'
export SANDBOXER_TESTBED_SSHD_LOG2='$STATE/sshd_2.log'
export SANDBOXER_TESTBED_BUILD_DIR='/build'
export SANDBOXER_TESTBED_SANDBOX_BASE='/srv/sandboxer'
export SANDBOXER_TESTBED_PODMAN_HOST='$HOST3'
export SANDBOXER_TESTBED_PODMAN_USER='root'
export SANDBOXER_TESTBED_PODMAN_BASE='/srv/sandboxer-podman'
EOF
mv "$STATE/env.sh.tmp" "$STATE/env.sh"

# ---------------------------------------------------------------------------
# 8. smoke check: key auth + docker access as sbxtest through both sshds
# ---------------------------------------------------------------------------
for h in "$HOST1" "$HOST2"; do
  ssh -i "$STATE/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
      -o UserKnownHostsFile="$STATE/known_hosts" -o StrictHostKeyChecking=yes \
      -o ConnectTimeout=5 -p "$PORT" "$TB_USER@$h" docker ps >/dev/null \
    || die "smoke check failed: ssh $TB_USER@$h:$PORT docker ps"
done
ssh -i "$STATE/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$STATE/known_hosts" -o StrictHostKeyChecking=yes \
    -o ConnectTimeout=5 -p "$PORT" "root@$HOST3" podman ps >/dev/null \
  || die "smoke check failed: ssh root@$HOST3:$PORT podman ps"
log "ready in $(($(date +%s) - START_TS))s -- source $STATE/env.sh"
