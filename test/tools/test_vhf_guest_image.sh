#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# usertools/vhf-guest-image.sh on a machine whose apt has no package lists at
# all (a container image's are removed; here a private tmpfs over
# /var/lib/apt/lists in a mount namespace of the test's own, so the machine's
# lists are never touched). The script must update apt and go on to resolve
# and fetch the kernel, or say why it cannot: it used to exit without a word
# there (its stamp of the lists, then apt-cache's exit 100 for a package it
# does not know, failed the script under pipefail), and the QEMU tests then
# skipped with a guessed reason. apt-cache and apt-get are stand-ins on
# PATH: the kernel resolves only after an update, and its download fails, so
# nothing is fetched and the run ends on the download's message.

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"
script=$here/../../usertools/vhf-guest-image.sh

tap_plan 2

[ "$(id -u)" = 0 ] || tap_skip_rest 1 "needs root (a mount namespace with a tmpfs over apt's lists)"
command -v unshare >/dev/null || tap_skip_rest 1 "unshare not found (util-linux)"
for p in busybox-static iperf3 cpio; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		tap_skip_rest 1 "$p is not installed (usertools/vhf-setup.sh installs it)"
done

work=$(mktemp -d /tmp/vhf-guest-image-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin" "$work/cache"

# apt-cache: knows the metapackage only once an update has written a list;
# before, fails as apt-cache does for a package it does not know.
cat >"$work/bin/apt-cache" <<'STUB'
#!/bin/sh
if [ ! -e /var/lib/apt/lists/stub_Packages ]; then
	echo "E: No packages found" >&2
	exit 100
fi
printf 'Package: linux-image-cloud-amd64\nVersion: 6.1.0-0\nDepends: linux-image-6.1.0-0-cloud-amd64 (= 6.1.0-0)\n'
STUB
# apt-get: update writes that list and says so; download fails.
cat >"$work/bin/apt-get" <<'STUB'
#!/bin/sh
for a in "$@"; do
	case "$a" in
	update) echo stub >/var/lib/apt/lists/stub_Packages; echo "$a" >>"$STUB_LOG"; exit 0 ;;
	download) echo "$a" >>"$STUB_LOG"; echo "E: stub: no network" >&2; exit 100 ;;
	esac
done
exit 0
STUB
chmod +x "$work/bin/apt-cache" "$work/bin/apt-get"

STUB_LOG=$work/calls PATH=$work/bin:$PATH unshare -m --propagation private \
	sh -c 'mount -t tmpfs vhf-test-lists /var/lib/apt/lists && exec "$0" --cache "$1"' \
	"$script" "$work/cache" >"$work/out" 2>"$work/err"
rc=$?
calls=$(cat "$work/calls" 2>/dev/null | tr '\n' ' ')

# 1. No lists: apt updated, then the kernel resolved (its package asked for).
[ "$calls" = "update download " ] || [ "$calls" = "update download update download " ]
check $? "with no package lists, apt updated and the kernel resolved and asked for" \
	"(stand-in calls: '${calls:-none}')"

# 2. The failure named: non-zero, with the reason, and no image printed.
[ "$rc" -ne 0 ] && grep -q "cannot download linux-image-6.1.0-0-cloud-amd64" "$work/err" &&
	[ ! -s "$work/out" ]
check $? "the download's failure exits $rc naming it: $(tail -n 1 "$work/err")"
