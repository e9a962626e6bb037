#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Checksum and segmentation offloads between net_vhostfix (devargs csum=1,
# tso=1) and DPDK's virtio-user, which negotiates VIRTIO_NET_F_CSUM /
# GUEST_CSUM / HOST_TSO* / GUEST_TSO* when they are offered and its
# application enables the matching offloads. Frames are real IPv4/IPv6
# UDP/TCP packets (vhf_pmd_check --l4), payload checked byte for byte and
# every L4 checksum verified against its pseudo-header by the receiver:
#  - offloaded both ways: both apps leave checksums to the port and take
#    partial ones (RX_L4_CKSUM_NONE): the partial checksums cross the socket
#    as NEEDS_CSUM headers (xstats csum_offloaded on both our queues);
#  - completed in software: the apps ask for no rx offload, so the guest does
#    not negotiate GUEST_CSUM and our application gets complete checksums:
#    the PMD computes them both ways (xstats csum_sw_completed);
#  - TSO both ways: 9000-byte TCP frames with an MSS go as GSO_TCPV4/6 both
#    ways and arrive as RX_LRO frames with that MSS;
#  - TSO to a guest without GUEST_TSO: every frame dropped and counted
#    (drop_tso_no_guest_tso), none delivered: we do not segment;
#  - tso=1 without csum=1 fails the probe naming the devarg.
#
# Our side sends only once the guest's first frame arrived (--tx-after-rx):
# virtio-user comes up a first time with no offload negotiated, and frames
# sent then would be checksummed in software or, for TSO, dropped.
#
# Usage: test_offload_csum.sh <vhf_pmd_check>
# Prints TAP. Needs root.

set -u
check=${1:-}
. "$(dirname "$0")/pmd_pair.sh"

count=${VHF_PMD_TEST_COUNT_OFFLOAD:-3000}

# run_pair NAME HOSTDEVARGS GUESTDEVARGS HOSTARGS GUESTARGS: sets dir, hres, gres.
run_pair() {
	local name=$1 hpid gpid sock
	dir=$pair_work/$name
	hres= gres=
	mkdir -p "$dir"
	sock=$dir/vhost.sock
	pair_start "$dir/host.log" 0 H "net_vhostfix0,iface=$sock$2" --role host --mode verify \
		--count "$count" --seconds 60 --xstats $4
	hpid=$pair_pid
	if ! vhf_wait_for "$dir/host.log" "READY" 60 "$hpid"; then
		pair_stop "$hpid"
		pair_pids=()
		return 1
	fi
	pair_start "$dir/guest.log" 1 G "net_virtio_user0,path=$sock$3" --role guest \
		--mode verify --count "$count" --seconds 60 $5
	gpid=$pair_pid
	# A guest told to --stay prints its RESULT when stopped.
	pair_finish "$dir" "$hpid" "$gpid" 70 "$([[ "$5" == *--stay* ]] && echo 0)"
	rm -f "$sock"
	return 0
}

# report NAME WHY SUMMARY
report() {
	if [ -z "$2" ]; then
		ok "$1: ${*:3}"
	else
		not_ok "$1:$2 host: ${hres:-no result}; guest: ${gres:-no result}"
		pair_diag "$dir/host.log"
		pair_diag "$dir/guest.log"
	fi
}

both_ok() {
	[[ "$hres" == "RESULT ok"* ]] || why+=" our side failed;"
	[[ "$gres" == "RESULT ok"* ]] || why+=" guest failed;"
}

l4=udp4,tcp4,udp6,tcp6
lens=128,1500,9000

pair_init 6

for ring in split packed; do
	if [ "$ring" = packed ]; then h=",packed=1" g=",packed_vq=1"; else h= g=; fi
	name="csum-offloaded-both-ways-$ring"
	why=
	if run_pair "$name" ",csum=1$h" "$g" "--l4 $l4 --lens $lens --tx-csum --rx-csum --tx-after-rx" \
		"--l4 $l4 --lens $lens --tx-csum --rx-csum"; then
		both_ok
		[ "$(pair_field "$hres" csum_none)" -gt 0 ] 2>/dev/null ||
			why+=" our app got no partial checksum;"
		[ "$(pair_field "$gres" csum_none)" -gt 0 ] 2>/dev/null ||
			why+=" the guest got no partial checksum;"
		[ "$(pair_xstat "$dir/host.log" rx_q0_csum_offloaded)" -gt 0 ] || why+=" rx csum_offloaded 0;"
		[ "$(pair_xstat "$dir/host.log" tx_q0_csum_offloaded)" -gt 0 ] || why+=" tx csum_offloaded 0;"
		[ "$(pair_xstat "$dir/host.log" rx_q0_drop_bad_offload)" = 0 ] || why+=" bad headers;"
	else
		why+=" our side did not come up;"
	fi
	report "$name" "$why" "$count frames each way, partial checksums both ways" \
		"(ours got $(pair_field "$hres" csum_none), guest got $(pair_field "$gres" csum_none))," \
		"rx/tx csum_offloaded $(pair_xstat "$dir/host.log" rx_q0_csum_offloaded)/$(pair_xstat "$dir/host.log" tx_q0_csum_offloaded)," \
		"payload and checksums verified"
done

name=csum-completed-in-software
why=
if run_pair "$name" ",csum=1" "" "--l4 $l4 --lens $lens --tx-csum" \
	"--l4 $l4 --lens $lens --tx-csum"; then
	both_ok
	[ "$(pair_field "$hres" csum_none)" = 0 ] || why+=" partial checksum given to an app that did not ask;"
	[ "$(pair_field "$gres" csum_none)" = 0 ] || why+=" partial checksum to a guest without GUEST_CSUM;"
	[ "$(pair_xstat "$dir/host.log" rx_q0_csum_sw_completed)" -gt 0 ] || why+=" rx csum_sw 0;"
	[ "$(pair_xstat "$dir/host.log" tx_q0_csum_sw_completed)" -gt 0 ] || why+=" tx csum_sw 0;"
	[ "$(pair_xstat "$dir/host.log" tx_q0_csum_offloaded)" = 0 ] || why+=" NEEDS_CSUM sent without GUEST_CSUM;"
else
	why+=" our side did not come up;"
fi
report "$name" "$why" "$count frames each way, rx/tx csum_sw_completed" \
	"$(pair_xstat "$dir/host.log" rx_q0_csum_sw_completed)/$(pair_xstat "$dir/host.log" tx_q0_csum_sw_completed)," \
	"payload and checksums verified"

name=tso-both-ways
why=
if run_pair "$name" ",csum=1,tso=1" "" \
	"--l4 tcp4,tcp6 --lens 4000,9000 --tx-csum --rx-csum --lro --tso 1448 --tx-after-rx" \
	"--l4 tcp4,tcp6 --lens 4000,9000 --tx-csum --rx-csum --lro --tso 1448"; then
	both_ok
	[ "$(pair_field "$hres" lro)" = "$count" ] || why+=" our app got $(pair_field "$hres" lro) LRO frames;"
	[ "$(pair_field "$gres" lro)" = "$count" ] || why+=" the guest got $(pair_field "$gres" lro) LRO frames;"
	[ "$(pair_xstat "$dir/host.log" rx_q0_gso_offloaded)" = "$count" ] || why+=" rx gso_offloaded;"
	[ "$(pair_xstat "$dir/host.log" tx_q0_gso_offloaded)" = "$count" ] || why+=" tx gso_offloaded;"
else
	why+=" our side did not come up;"
fi
report "$name" "$why" "$count GSO frames each way, MSS 1448 kept, payload and checksums verified"

name=tso-to-guest-without-guest-tso
why=
if run_pair "$name" ",csum=1,tso=1" "" \
	"--l4 tcp4 --lens 9000 --tx-csum --tso 1448 --rx-count 0" \
	"--l4 tcp4 --lens 9000 --rx-count 0 --count 0 --stay"; then
	[[ "$hres" == "RESULT ok"* ]] || why+=" our side failed;"
	[ "$(pair_field "$gres" received)" = 0 ] || why+=" the guest received frames;"
	[ "$(pair_xstat "$dir/host.log" tx_q0_drop_tso_no_guest_tso)" = "$count" ] ||
		why+=" drop_tso_no_guest_tso $(pair_xstat "$dir/host.log" tx_q0_drop_tso_no_guest_tso);"
else
	why+=" our side did not come up;"
fi
report "$name" "$why" "$count TSO frames dropped and counted, none delivered"

name=tso-needs-csum
dir=$pair_work/$name
mkdir -p "$dir"
pair_start "$dir/host.log" 0 H "net_vhostfix0,iface=$dir/vhost.sock,tso=1" --role host
hpid=$pair_pid
vhf_wait_pid "$hpid" 20 || pair_stop "$hpid"
pair_forget "$hpid"
if grep -q "devarg 'tso=1' needs 'csum=1'" "$dir/host.log" && ! grep -q READY "$dir/host.log"; then
	ok "$name: probe refused, naming the devarg"
else
	not_ok "$name: probe not refused as expected"
	pair_diag "$dir/host.log"
fi
[ "$tap_failed" -eq 0 ]
