#!/usr/bin/env bash
# tests/runtime/engine.sh up|down|status -- a private Docker engine for the runtime test tier.
#
# Everything lives under $STATE (default /tmp/compose-harden-engine) and uses its own names, so it
# never touches another engine on the machine:
#
#   up    1. snapshots what it changes on the host: iptables and ip6tables (every table), the
#            sysctls dockerd and this script set (ip_forward, bridge netfilter, the neighbour table
#            limits gc_thresh1-3), the bridges that already exist;
#         2. raises gc_thresh1-3 (the kernel's ARP table is shared by every namespace and
#            overflows from ~40 containers);
#         3. adds a blackhole route for the test range $GUARD (nothing aimed at it can leave the
#            machine, even when the namespace is gone), creates network namespace $NS with a veth
#            pair ($HOST_IP <-> $DNS_IP, inside the guard range) and runs the project's own
#            NXDOMAIN-only resolver on $DNS_IP:53 inside it;
#         4. starts dockerd on its own socket, data root, exec root, pidfile and config file,
#            with --bip and --default-address-pool on reserved ranges (RFC 2544 benchmarking
#            space, 198.18.0.0/15) and --dns $DNS_IP: no container lookup ever reaches the
#            machine's own resolver;
#         5. imports the stand-in image $IMAGE: busybox-static and its applet links, nothing else
#            (no registry is needed or contacted);
#         6. imports the local Squid image $SQUID_IMAGE (tests/runtime/squid-image.sh, from the
#            host's Debian squid package) for the egress gateway test, when squid is installed.
#         Before all that (and again on every `up`) it adds a routing rule: traffic from the
#         engine's containers ($ENGINE_NET) to link-local addresses ($LINK_LOCAL, cloud metadata
#         at 169.254.169.254) is blackholed, so nothing a container sends there can leave the
#         machine whatever runs; the host's own traffic is not affected.
#         It prints `export DOCKER_HOST=...`, `export COMPOSE_HARDEN_PROBE_IMAGE=...` and, with
#         the Squid image, `export COMPOSE_HARDEN_SQUID_IMAGE=...`.
#   down  removes the containers, stops dockerd (by its pid only), the resolver, the namespace,
#         the route, the link-local rule and the bridges dockerd made, and restores iptables and
#         the sysctls exactly.
#         Safe to run twice and after a failed `up`.
#   status
#
# Needs root and: dockerd docker iptables ip busybox(-static) python3, and squid for step 6
# (see .ci/run).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
STATE=${COMPOSE_HARDEN_ENGINE_STATE:-/tmp/compose-harden-engine}
SOCK=$STATE/docker.sock
NS=chci-dns
VETH_H=chci-dns-h
VETH_N=chci-dns-n
GUARD=198.19.248.0/24
HOST_IP=198.19.248.1
DNS_IP=198.19.248.2
BIP=198.18.0.1/24
POOL=198.18.128.0/17
ENGINE_NET=198.18.0.0/16 # holds $BIP and $POOL: every container address of this engine
LINK_LOCAL=169.254.0.0/16
RULE_PREF=4096
IMAGE=${COMPOSE_HARDEN_PROBE_IMAGE:-compose-harden-standin:latest}
SQUID_IMAGE=${COMPOSE_HARDEN_SQUID_IMAGE:-compose-harden-squid:test}
SYSCTLS="net.ipv4.ip_forward net.ipv4.conf.all.forwarding net.ipv6.conf.all.forwarding
net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
net.ipv4.neigh.default.gc_thresh1 net.ipv4.neigh.default.gc_thresh2 net.ipv4.neigh.default.gc_thresh3"

say() { printf 'engine: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
dk() { DOCKER_HOST=unix://$SOCK docker "$@"; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
sysctl_path() { echo "/proc/sys/$(echo "$1" | tr . /)"; }

stop_pidfile() { # stop_pidfile FILE NAME: TERM that pid, wait up to 20 s, then KILL it
  local f=$1 name=$2 pid
  [ -s "$f" ] || { rm -f "$f"; return 0; }
  pid=$(tr -dc 0-9 <"$f")
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do alive "$pid" || break; sleep 0.5; done
    if alive "$pid"; then say "$name did not stop: KILL $pid"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
  fi
  rm -f "$f"
}

snapshot() {
  [ -e "$STATE/snapshot.done" ] && return 0 # the first `up` wins until `down`
  mkdir -p "$STATE/snapshot"
  iptables-save >"$STATE/snapshot/iptables"
  ip6tables-save >"$STATE/snapshot/ip6tables" 2>/dev/null || : >"$STATE/snapshot/ip6tables"
  : >"$STATE/snapshot/sysctl"
  for s in $SYSCTLS; do
    p=$(sysctl_path "$s")
    [ -e "$p" ] && echo "$s $(cat "$p")" >>"$STATE/snapshot/sysctl"
  done
  ip -o link show type bridge | awk -F': ' '{print $2}' | sed 's/@.*//' | sort >"$STATE/snapshot/bridges"
  touch "$STATE/snapshot.done"
}

cmd_up() {
  [ "$(id -u)" = 0 ] || die "must run as root"
  for c in dockerd docker iptables iptables-save iptables-restore ip busybox python3; do
    command -v "$c" >/dev/null || die "$c not found (apt-get install docker.io iptables busybox-static)"
  done
  mkdir -p "$STATE"
  # no container of this engine reaches link-local addresses (cloud metadata), whatever runs
  ip rule list | grep -q "from $ENGINE_NET to $LINK_LOCAL blackhole" ||
    ip rule add from "$ENGINE_NET" to "$LINK_LOCAL" blackhole pref "$RULE_PREF"
  if [ -S "$SOCK" ] && dk version >/dev/null 2>&1; then
    say "already up"
  else
    snapshot
    echo 8192 >"$(sysctl_path net.ipv4.neigh.default.gc_thresh1)"
    echo 16384 >"$(sysctl_path net.ipv4.neigh.default.gc_thresh2)"
    echo 32768 >"$(sysctl_path net.ipv4.neigh.default.gc_thresh3)"

    # the resolver's namespace, behind a guard route
    ip route replace blackhole "$GUARD" metric 4000
    if ! ip netns list | grep -qw "^$NS"; then
      ip netns add "$NS"
      ip link add "$VETH_H" type veth peer name "$VETH_N"
      ip link set "$VETH_N" netns "$NS"
      ip addr add "$HOST_IP/30" dev "$VETH_H"
      ip link set "$VETH_H" up
      ip -n "$NS" addr add "$DNS_IP/30" dev "$VETH_N"
      ip -n "$NS" link set "$VETH_N" up
      ip -n "$NS" link set lo up
    fi
    ip route get "$DNS_IP" | grep -q "dev $VETH_H" || die "$DNS_IP is not routed into $VETH_H"
    if ! alive "$(cat "$STATE/resolver.pid" 2>/dev/null || true)"; then
      setsid ip netns exec "$NS" python3 "$ROOT/hardener/probe/servers.py" --dns "$DNS_IP" --lifetime 86400 \
        </dev/null >"$STATE/resolver.log" 2>&1 &
      echo $! >"$STATE/resolver.pid"
    fi

    # dockerd: nothing shared with a system engine (socket, data, exec root, config file)
    echo '{}' >"$STATE/daemon.json"
    rm -f "$SOCK"
    setsid dockerd \
      --config-file "$STATE/daemon.json" \
      --host "unix://$SOCK" \
      --data-root "$STATE/data" \
      --exec-root "$STATE/exec" \
      --pidfile "$STATE/dockerd.pid" \
      --bip "$BIP" \
      --default-address-pool "base=$POOL,size=24" \
      --dns "$DNS_IP" \
      --log-level warn \
      </dev/null >"$STATE/dockerd.log" 2>&1 &
    echo $! >"$STATE/dockerd.launch.pid"
    for _ in $(seq 1 120); do
      [ -S "$SOCK" ] && dk version >/dev/null 2>&1 && break
      alive "$(cat "$STATE/dockerd.launch.pid")" || { tail -n 20 "$STATE/dockerd.log" >&2; die "dockerd exited"; }
      sleep 0.5
    done
    dk version >/dev/null 2>&1 || { tail -n 20 "$STATE/dockerd.log" >&2; die "dockerd did not answer within 60 s"; }
    say "dockerd $(dk version --format '{{.Server.Version}}') on $SOCK"
  fi

  if ! dk image inspect "$IMAGE" >/dev/null 2>&1; then
    local rootfs=$STATE/rootfs bb
    bb=$(command -v busybox)
    rm -rf "$rootfs"; mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
    cp "$bb" "$rootfs/bin/busybox"
    for applet in $("$bb" --list); do [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"; done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
    echo 'root:x:0:' >"$rootfs/etc/group"
    tar -C "$rootfs" -c . | dk import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
    rm -rf "$rootfs"
    say "imported $IMAGE"
  fi
  local squid=""
  if dk image inspect "$SQUID_IMAGE" >/dev/null 2>&1; then
    squid=1
  elif [ -x /usr/sbin/squid ]; then
    DOCKER_HOST=unix://$SOCK bash "$HERE/squid-image.sh" "$SQUID_IMAGE" && squid=1
  else
    say "squid is not installed: no $SQUID_IMAGE (the egress gateway test needs it; see .ci/run)"
  fi
  echo "export DOCKER_HOST=unix://$SOCK"
  echo "export COMPOSE_HARDEN_PROBE_IMAGE=$IMAGE"
  if [ -n "$squid" ]; then echo "export COMPOSE_HARDEN_SQUID_IMAGE=$SQUID_IMAGE"; fi
}

restore_iptables() { # restore_iptables SAVE RESTORE SNAPSHOT
  local save=$1 restore=$2 snap=$3 t tables rc=0
  command -v "$save" >/dev/null || return 0
  tables=$("$save" 2>/dev/null | sed -n 's/^\*//p')
  for t in $tables; do # only tables that exist: naming another one would create it
    "${save%-save}" -t "$t" -F 2>/dev/null || true
    "${save%-save}" -t "$t" -X 2>/dev/null || true
    if [ "$t" = filter ]; then
      for c in INPUT FORWARD OUTPUT; do "${save%-save}" -t filter -P "$c" ACCEPT 2>/dev/null || true; done
    fi
  done
  if [ -s "$snap" ]; then "$restore" <"$snap" || rc=1; fi
  # tables that did not exist before: remove them (nf_tables backend), so that the save
  # output is what it was
  if command -v nft >/dev/null; then
    local fam=ip; [ "$save" = ip6tables-save ] && fam=ip6
    for t in $tables; do
      grep -qx "\*$t" "$snap" 2>/dev/null || nft delete table "$fam" "$t" 2>/dev/null || true
    done
  fi
  return $rc
}

cmd_down() {
  [ "$(id -u)" = 0 ] || die "must run as root"
  set +e # go through every step whatever fails: a half-restored host is the worst outcome
  local failed=""
  if [ -S "$SOCK" ] && dk version >/dev/null 2>&1; then
    ids=$(dk ps -aq 2>/dev/null || true)
    [ -z "$ids" ] || dk rm -f $ids >/dev/null 2>&1 || true
  fi
  local pid
  pid=$(cat "$STATE/dockerd.pid" 2>/dev/null | tr -dc 0-9)
  [ -n "$pid" ] || pid=$(cat "$STATE/dockerd.launch.pid" 2>/dev/null | tr -dc 0-9)
  if [ -n "$pid" ]; then echo "$pid" >"$STATE/dockerd.stop"; stop_pidfile "$STATE/dockerd.stop" dockerd; fi
  rm -f "$STATE/dockerd.pid" "$STATE/dockerd.launch.pid"
  stop_pidfile "$STATE/resolver.pid" resolver
  # every step below tolerates what is already gone (deleting the namespace takes the veth pair
  # with it, asynchronously), so that one missing piece never stops the restore
  if ip netns list | grep -qw "^$NS"; then ip netns del "$NS" || true; fi
  ip link del "$VETH_H" 2>/dev/null || true
  ip route del blackhole "$GUARD" metric 4000 2>/dev/null || true
  while ip rule del from "$ENGINE_NET" to "$LINK_LOCAL" blackhole pref "$RULE_PREF" 2>/dev/null; do :; done
  if [ -e "$STATE/snapshot.done" ]; then
    # bridges dockerd made and did not remove (docker0, br-<id>)
    for br in $(ip -o link show type bridge | awk -F': ' '{print $2}' | sed 's/@.*//' | sort); do
      case $br in docker0 | br-*) grep -qx "$br" "$STATE/snapshot/bridges" || ip link del "$br" 2>/dev/null || true ;; esac
    done
    restore_iptables iptables-save iptables-restore "$STATE/snapshot/iptables" || failed="$failed iptables"
    restore_iptables ip6tables-save ip6tables-restore "$STATE/snapshot/ip6tables" || failed="$failed ip6tables"
    while read -r s v; do
      echo "$v" >"$(sysctl_path "$s")" 2>/dev/null || { say "cannot restore $s"; failed="$failed $s"; }
    done <"$STATE/snapshot/sysctl"
  fi
  if [ -d "$STATE" ]; then
    # mounts dockerd and containerd may leave behind (netns files, overlay layers), deepest first
    awk -v s="$STATE/" 'index($2, s) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    if [ -z "$failed" ]; then rm -rf "$STATE"; fi # else keep the snapshot for another `down`
  fi
  [ -z "$failed" ] || die "down: could not restore:$failed (snapshot kept in $STATE)"
  say "down: host restored"
}

cmd_status() {
  if [ -S "$SOCK" ] && dk version >/dev/null 2>&1; then
    echo "dockerd up on $SOCK ($(dk version --format '{{.Server.Version}}'))"
    dk ps --format '  {{.Names}} {{.Status}}'
  else
    echo "dockerd down"
  fi
  if ip netns list | grep -qw "^$NS"; then echo "namespace $NS: present"; else echo "namespace $NS: absent"; fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
