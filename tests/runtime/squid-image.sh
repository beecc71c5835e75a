#!/usr/bin/env bash
# tests/runtime/squid-image.sh IMAGE -- a local Squid image for the runtime tier, without a registry.
#
# The egress gateway compose-harden writes runs Canonical's ubuntu/squid; no image registry is
# reachable where the runtime tier runs, so this assembles an image like it from the host's own
# Debian `squid` package (.ci/run installs it; nothing of it runs on the host):
#
#   * /usr/sbin/squid and the helpers Squid may start itself (pinger, log_file_daemon, unlinkd),
#     with every library `ldd` lists for them and the dynamic loader;
#   * Squid's data: /usr/share/squid (error pages, mime.conf, icons) and what its symlinks point
#     to (/usr/share/squid-langpack), /etc/squid/errorpage.css;
#   * the `proxy` user and group (Squid drops to it), writable /var/spool/squid, /var/log/squid
#     (owned by proxy) and /run (the pid file);
#   * busybox-static for a shell, and an entrypoint like ubuntu/squid's: it prints
#     /var/log/squid/{access,cache}.log to stdout (tail -F), creates the cache directories
#     (squid -Nz) and runs `squid -f /etc/squid/squid.conf -NYC` in the foreground.
#
# It is imported with `docker import` (DOCKER_HOST as given). Needs: squid, busybox(-static),
# ldd, docker.
set -euo pipefail

IMAGE=${1:?usage: squid-image.sh IMAGE}
SQUID=/usr/sbin/squid
HELPERS="/usr/lib/squid/pinger /usr/lib/squid/log_file_daemon /usr/lib/squid/unlinkd"

say() { printf 'squid-image: %s\n' "$*" >&2; }
[ -x "$SQUID" ] || { say "error: $SQUID not found (apt-get install squid; see .ci/run)"; exit 1; }
bb=$(command -v busybox) || { say "error: busybox not found (apt-get install busybox-static)"; exit 1; }

rootfs=$(mktemp -d /tmp/compose-harden-squid.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

copy() { # copy PATH into the rootfs at the same path, dereferenced (the loader opens what ldd names)
  mkdir -p "$rootfs$(dirname "$1")"
  cp -L --preserve=mode,xattr "$1" "$rootfs$1" # pinger keeps its cap_net_raw
}

for bin in "$SQUID" $HELPERS; do
  [ -x "$bin" ] || continue
  copy "$bin"
  # `libfoo.so => /path (addr)` and the loader's own `/lib64/ld-linux... (addr)`
  for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
    copy "$lib"
  done
done
mkdir -p "$rootfs/usr/share" "$rootfs/etc/squid"
cp -a /usr/share/squid "$rootfs/usr/share/"
for link in $(find /usr/share/squid -type l); do # errors -> ../squid-langpack
  target=$(readlink -f "$link")
  if [ -d "$target" ] && [ ! -e "$rootfs$target" ]; then
    mkdir -p "$rootfs$(dirname "$target")"
    cp -a "$target" "$rootfs$target"
  fi
done
if [ -e /etc/squid/errorpage.css ]; then copy /etc/squid/errorpage.css; fi

mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/run" "$rootfs/var/spool/squid" "$rootfs/var/log/squid" \
  "$rootfs/usr/local/bin"
chmod 1777 "$rootfs/tmp"
cp "$bb" "$rootfs/bin/busybox"
for applet in $("$bb" --list); do [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"; done
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'proxy:x:13:13:proxy:/bin:/bin/false' \
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$rootfs/etc/passwd"
printf '%s\n' 'root:x:0:' 'proxy:x:13:' 'nogroup:x:65534:' >"$rootfs/etc/group"
chown 13:13 "$rootfs/var/spool/squid" "$rootfs/var/log/squid"
cat >"$rootfs/usr/local/bin/entrypoint.sh" <<'EOF'
#!/bin/sh
# like ubuntu/squid's entrypoint: Squid's log files to stdout, cache directories, Squid
tail -F /var/log/squid/access.log 2>/dev/null &
tail -F /var/log/squid/cache.log 2>/dev/null &
/usr/sbin/squid -Nz
exec /usr/sbin/squid "$@"
EOF
chmod 755 "$rootfs/usr/local/bin/entrypoint.sh"

tar -C "$rootfs" --xattrs --xattrs-include="security.capability" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'EXPOSE 3128' \
  -c 'ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]' \
  -c 'CMD ["-f", "/etc/squid/squid.conf", "-NYC"]' \
  - "$IMAGE" >/dev/null
say "imported $IMAGE ($($SQUID -v | head -n 1))"
