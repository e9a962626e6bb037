#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# net_vhostfix loaded into Debian's dpdk-testpmd with -d, against DPDK's own
# virtio-user PMD in a second dpdk-testpmd process over a real vhost-user
# socket. Each case runs one host/guest pair, starts forwarding with tx_first on
# both sides (io forwarding, each port looped to itself, so the packets bounce
# between the two processes) and waits until both sides have received and sent
# VHF_PMD_TEST_MIN_PKTS packets (asking testpmd for its stats until they do).
#
# Usage: test_testpmd_virtio_user.sh <librte_net_vhostfix.so>
# Prints TAP. Needs root (the plugin is copied under /run, see below).

set -u
. "$(dirname "$0")/../tap.sh"
. "$(dirname "$0")/../testpmd.sh"
. "$(dirname "$0")/../../usertools/vhf-wait.sh"

so=${1:-}
testpmd=${DPDK_TESTPMD:-dpdk-testpmd}
# The packets each side must receive and send; the seconds after which, if
# they have not, the traffic is stuck (it takes well under one).
min_pkts=${VHF_PMD_TEST_MIN_PKTS:-1000}
wait_s=${VHF_PMD_TEST_WAIT_S:-60}

ncases=5
tap_plan $ncases
if [ -z "$so" ] || [ ! -f "$so" ]; then
	echo "Bail out! usage: $0 <librte_net_vhostfix.so>"
	exit 1
fi
if ! command -v "$testpmd" >/dev/null; then
	echo "Bail out! $testpmd not found (Debian package dpdk-dev)"
	exit 1
fi
[ "$(id -u)" = 0 ] || tap_skip_rest $ncases "needs root"

# EAL refuses -d from a directory any parent of which is world-writable (/tmp,
# a checkout under /tmp, /var/tmp): load a copy from a root-owned 0755
# directory under /run instead, so the test works wherever the build is.
plugdir=/run/vhostfix-test.$$
rundir=/var/run/dpdk
verbose=${VHF_PMD_TEST_VERBOSE:-0}
tap_diag_lines=${VHF_PMD_TEST_DIAG_LINES:-$tap_diag_lines}
work=$(mktemp -d /tmp/vhf-pmd-test.XXXXXX) || exit 1
pids=()

cleanup() {
	exec 3>&- 4>&- 2>/dev/null
	vhf_stop_pids 5 "${pids[@]}"
	pids=()
	# EAL leaves its runtime directory behind; these are this run's prefixes.
	rm -rf "$plugdir" "$work" "$rundir/vhfA$$" "$rundir/vhfB$$" "$rundir/vhfC$$"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -m 0755 "$plugdir" || { echo "Bail out! cannot create $plugdir"; exit 1; }
cp "$so" "$plugdir/librte_net_vhostfix.so" || exit 1
plugin=$plugdir/librte_net_vhostfix.so

# run_case NAME HOST_DEVARGS GUEST_DEVARGS
run_case() {
	local name=$1 hargs=$2 gargs=$3
	local dir=$work/$name sock hpid gpid hrx htx grx gtx
	mkdir -p "$dir"
	sock=$dir/vhost.sock
	mkfifo "$dir/host.in" "$dir/guest.in"

	stdbuf -oL "$testpmd" -l 0,1 --no-huge -m 512 --no-pci --file-prefix=vhfA$$ \
		--log-level='pmd.net.vhostfix*:info' -d "$plugin" \
		--vdev "net_vhostfix0,iface=$sock$hargs" \
		-- -i --port-topology=loop --total-num-mbufs=16384 \
		<"$dir/host.in" >"$dir/host.log" 2>&1 &
	hpid=$!
	pids+=("$hpid")
	exec 3>"$dir/host.in"
	if ! vhf_wait_for "$dir/host.log" "testpmd>" 60 "$hpid" || [ ! -S "$sock" ]; then
		not_ok "$name: host testpmd with net_vhostfix did not come up"
		diag <"$dir/host.log"
		tp_stop "$hpid" 3
		return
	fi

	# The guest's forwarding lcore on the other CPU than the host's: with both
	# on one CPU the ping-pong advances once per scheduler time slice.
	stdbuf -oL "$testpmd" --lcores 0@1,1@0 --no-huge -m 512 --no-pci --file-prefix=vhfB$$ \
		--vdev "net_virtio_user0,path=$sock,queues=1$gargs" \
		-- -i --port-topology=loop --total-num-mbufs=16384 \
		<"$dir/guest.in" >"$dir/guest.log" 2>&1 &
	gpid=$!
	pids+=("$gpid")
	exec 4>"$dir/guest.in"
	if ! vhf_wait_for "$dir/guest.log" "testpmd>" 60 "$gpid" ||
		! vhf_wait_for "$dir/host.log" "guest up" 60 "$hpid"; then
		not_ok "$name: guest did not attach"
		diag <"$dir/host.log"
		diag <"$dir/guest.log"
	else
		echo "start tx_first" >&3
		echo "start tx_first" >&4
		hrx=0 htx=0 grx=0 gtx=0
		if vhf_wait_until "$wait_s" "$hpid" tp_pair_counted "$dir/host.log" "$hpid" \
			"$dir/guest.log" "$gpid" "$min_pkts"; then
			ok "$name: host rx $hrx tx $htx, guest rx $grx tx $gtx"
		else
			not_ok "$name: host rx $hrx tx $htx, guest rx $grx tx $gtx" \
				"(want >= $min_pkts each within $wait_s s)"
			diag <"$dir/host.log"
			diag <"$dir/guest.log"
		fi
		echo "stop" >&3
		echo "stop" >&4
	fi
	tp_stop "$gpid" 4
	tp_stop "$hpid" 3
	if [ "$verbose" = 1 ]; then
		diag <"$dir/host.log"
		diag <"$dir/guest.log"
	fi
	pids=()
	rm -f "$sock"
}

# A wrong devarg fails the probe, and the message names it.
check_devarg() {
	local name=$1 vdev=$2 want=$3 log=$work/devarg-$1.log
	timeout 60 "$testpmd" -l 0 --no-huge -m 256 --no-pci --file-prefix=vhfC$$ -d "$plugin" \
		--vdev "$vdev" -- --total-num-mbufs=2048 </dev/null >"$log" 2>&1
	if grep -q -- "$want" "$log"; then
		ok "$name: probe fails naming it"
	else
		not_ok "$name: no message naming '$want'"
		diag <"$log"
	fi
}

# DPDK's net_vhost registered first (-d loads in order, as EAL loads its driver
# directory in whatever order the filesystem lists it): its name prefixes
# net_vhostfix0, and EAL gives a vdev to the first driver whose name prefixes
# the vdev's. net_vhostfix must still serve net_vhostfix0.
check_order() {
	local log=$work/order.log vhost
	vhost=$(ls "$(pkg-config --variable=libdir libdpdk)"/dpdk/pmds-*/librte_net_vhost.so 2>/dev/null |
		head -n 1)
	if [ -z "$vhost" ]; then
		ok "# SKIP DPDK's net_vhost is not installed (librte-net-vhost23)"
		return
	fi
	timeout 60 "$testpmd" -l 0,1 --no-huge -m 256 --no-pci --file-prefix=vhfC$$ \
		--log-level='pmd.net.vhost*:info' -d "$vhost" -d "$plugin" \
		--vdev "net_vhostfix0,iface=$work/order.sock" -- --total-num-mbufs=2048 \
		</dev/null >"$log" 2>&1
	if grep -q "net_vhostfix0: port 0 on" "$log" && ! grep -q "pmd_vhost for net_vhostfix0" "$log"
	then
		ok "net_vhost loaded first: net_vhostfix0 is still net_vhostfix's"
	else
		not_ok "net_vhost loaded first took net_vhostfix0"
		diag <"$log"
	fi
}

check_order
run_case split "" ""
run_case packed ",packed=1" ",packed_vq=1"
check_devarg "missing iface" "net_vhostfix0,queues=1" "devarg 'iface=<socket path>' is required"
check_devarg "unknown devarg" "net_vhostfix0,iface=$work/x.sock,bogus=1" "unknown devarg 'bogus'"

[ "$tap_failed" -eq 0 ]
