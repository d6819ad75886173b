#!/bin/sh
# fresh_debian.sh — run the README's quick-start command on a fresh, minimal Debian 12, as CI would on a new machine:
# a green suite on a developer's machine can hide a missing install step or a test that needs a tool only that
# machine has (pgrep, say). As root, with debootstrap and the Debian mirror:
#
#   sh tools/fresh_debian.sh [test|run] [ROOT]     # default: test, ROOT /tmp/pdiff-fresh-debian
#
# Makes ROOT a `debootstrap --variant=minbase bookworm` system (once; later calls reuse it, so delete ROOT for a
# really fresh one), clones this repository's HEAD (committed work only) into "ROOT/root/fresh clone/pdiff" (a path
# with a blank, as CI may use), and runs `sh tools/quickstart.sh test` there (`run`: the main job, headless) in a
# chroot with an empty environment and no terminal. /proc, /sys and /dev are bound into ROOT for the run and
# unbound afterwards. The exit status is the quick start's; its output is also in ROOT/root/quickstart.log.
# MIRROR overrides the Debian mirror (default http://deb.debian.org/debian).
set -eu
mode=${1:-test}
root=${2:-/tmp/pdiff-fresh-debian}
mirror=${MIRROR:-http://deb.debian.org/debian}
case "$mode" in test | run) ;; *) echo "usage: sh tools/fresh_debian.sh [test|run] [ROOT]" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "fresh_debian: needs root (debootstrap, chroot, mount)" >&2; exit 1; }
command -v debootstrap > /dev/null || { echo "fresh_debian: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
top=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -f "$root/etc/debian_version" ]; then
    echo "fresh_debian: debootstrap --variant=minbase bookworm $root" >&2
    debootstrap --variant=minbase bookworm "$root" "$mirror" > "$root.debootstrap.log" 2>&1 ||
        { echo "fresh_debian: debootstrap failed (see $root.debootstrap.log)" >&2; exit 1; }
fi
cp /etc/resolv.conf "$root/etc/resolv.conf" 2> /dev/null || true
cat > "$root/etc/apt/sources.list" << EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF

mounted=
unbind() {
    for m in $mounted; do umount "$root/$m" 2> /dev/null || umount -l "$root/$m" 2> /dev/null || true; done
}
trap unbind EXIT
trap 'exit 130' INT TERM
for m in proc sys dev dev/pts; do
    mountpoint -q "$root/$m" && continue
    mount --bind "/$m" "$root/$m"
    mounted="$m $mounted" # unbound in reverse order
done

clone="$root/root/fresh clone/pdiff"
rm -rf "$clone"
mkdir -p "$(dirname "$clone")"
git clone -q "$top" "$clone"
echo "fresh_debian: $(git -C "$clone" log -1 --format='%h %s' | cut -c1-100)" >&2
if [ "$mode" = test ]; then
    cmd='cd "/root/fresh clone/pdiff" && sh .ci/run'
else
    cmd='cd "/root/fresh clone/pdiff" && sh tools/quickstart.sh run run --quiet'
fi
rm -f "$root/root/quickstart.rc"
chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 sh -c "$cmd; echo \$? > /root/quickstart.rc" < /dev/null 2>&1 | tee "$root/root/quickstart.log"
rc=$(cat "$root/root/quickstart.rc" 2> /dev/null || echo 1)
echo "fresh_debian: $mode on a fresh Debian: $([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)")" >&2
exit "$rc"
