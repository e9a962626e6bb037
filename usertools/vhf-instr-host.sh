#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Instructions per packet of the host's burst function, net_vhostfix against
# DPDK's net_vhost, under callgrind: the host testpmd (rxonly for guest-tx,
# txonly for guest-rx) runs under valgrind against a guest testpmd on
# virtio-user at full speed, so that every burst is full, and callgrind counts
# only inside the burst call: vhf_pmd_rx_burst / vhf_pmd_tx_burst for ours,
# rte_vhost_dequeue_burst / rte_vhost_enqueue_burst for net_vhost (its ethdev
# wrappers are static and stripped in Debian's build: their few instructions a
# burst are left out). Deterministic where the benchmark is not: what a
# change does to the path shows at once, whatever the machine's state; what
# it costs in cycles is usertools/vhf-bench.py's to say. Both CPUs are busy
# meanwhile: run it under the benchmark lock.
#
#   usertools/vhf-instr-host.sh [--build DIR] [--dir guest-tx|guest-rx]
#       [--ring split|packed] [--in-order on|off] [--mrg on|off] [--size BYTES]
#       [--seconds N]
set -eu

build=build
dir=guest-tx
ring=packed
in_order=on
mrg=on
size=64
seconds=10

usage() {
	echo "usage: vhf-instr-host.sh [--build DIR] [--dir guest-tx|guest-rx]" \
		"[--ring split|packed] [--in-order on|off] [--mrg on|off] [--size BYTES]" \
		"[--seconds N]" >&2
	exit 2
}

# arg NAME VALUE ALLOWED-REGEX: VALUE, or a message naming NAME and exit 2.
arg() {
	if [ -z "${2:-}" ] || ! [[ "$2" =~ ^($3)$ ]]; then
		echo "vhf-instr-host: $1: '${2:-}' is not one of: ${3//|/, }" >&2
		exit 2
	fi
	printf '%s' "$2"
}

# number NAME VALUE MIN MAX: VALUE if a whole number in [MIN, MAX], or a message and exit 2.
number() {
	if ! [[ "${2:-}" =~ ^[0-9]{1,5}$ ]] || [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then
		echo "vhf-instr-host: $1: '${2:-}' is not a whole number from $3 to $4" >&2
		exit 2
	fi
	printf '%s' "$2"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=${2:-}; [ -n "$build" ] || usage ;;
	--dir) dir=$(arg --dir "${2:-}" 'guest-tx|guest-rx') || exit 2 ;;
	--ring) ring=$(arg --ring "${2:-}" 'split|packed') || exit 2 ;;
	--in-order) in_order=$(arg --in-order "${2:-}" 'on|off') || exit 2 ;;
	--mrg) mrg=$(arg --mrg "${2:-}" 'on|off') || exit 2 ;;
	--size) size=$(number --size "${2:-}" 60 1518) || exit 2 ;;
	--seconds) seconds=$(number --seconds "${2:-}" 1 99) || exit 2 ;;
	-h|--help) usage ;;
	*) echo "vhf-instr-host: unknown argument '$1'" >&2; usage ;;
	esac
	shift 2
done

so=$build/drivers/net/vhostfix/librte_net_vhostfix.so
if [ ! -e "$so" ]; then
	echo "vhf-instr-host: $so is not built (meson setup $build -Dpmd=enabled &&" \
		"ninja -C $build)" >&2
	exit 2
fi
for tool in valgrind dpdk-testpmd; do
	if ! command -v "$tool" > /dev/null; then
		echo "vhf-instr-host: $tool is not installed (usertools/vhf-setup.sh --bench)" >&2
		exit 2
	fi
done
so=$(realpath "$so")

onoff() { [ "$1" = on ] && echo 1 || echo 0; }
packed=$([ "$ring" = packed ] && echo 1 || echo 0)
work=$(mktemp -d /tmp/vhf-instr-host.XXXXXX)
prefix=vhfinstr$$
guest_pid=
host_pid=
cleanup() {
	for pid in $host_pid $guest_pid; do
		kill "$pid" 2> /dev/null || true
	done
	for pid in $host_pid $guest_pid; do
		wait "$pid" 2> /dev/null || true
	done
	rm -rf "$work" "/var/run/dpdk/${prefix}g" "/var/run/dpdk/${prefix}h"
}
trap cleanup EXIT
trap 'echo "vhf-instr-host: stopped by a failed command at line $LINENO" >&2' ERR
trap 'exit 130' INT TERM

if [ "$dir" = guest-tx ]; then
	gmode=txonly hmode=rxonly
	fn_ours=vhf_pmd_rx_burst fn_vhost=rte_vhost_dequeue_burst counted=RX-packets
else
	gmode=rxonly hmode=txonly
	fn_ours=vhf_pmd_tx_burst fn_vhost=rte_vhost_enqueue_burst counted=TX-packets
fi

# wait_for PID SIDE LOG TENTHS COMMAND...: until COMMAND succeeds, polled every 0.1 s
# for at most TENTHS tenths of a second; the process PID (SIDE's testpmd) gone
# meanwhile, or the time up, ends the script with its log.
wait_for() {
	local pid=$1 side=$2 log=$3 tenths=$4
	shift 4
	for _ in $(seq "$tenths"); do
		"$@" && return 0
		if ! kill -0 "$pid" 2> /dev/null; then
			echo "vhf-instr-host: the $side testpmd exited, see its log:" >&2
			cat "$log" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "vhf-instr-host: the $side testpmd not ready after $((tenths / 10)) s, see its log:" >&2
	cat "$log" >&2
	exit 1
}

# measure BACKEND: instructions per packet of its burst function, one decimal, in
# $result (not printed: a command substitution's subshell would keep the PIDs from
# the cleanup trap).
measure() {
	local backend=$1 sock=$work/$1.sock vdev fn plug=() packets instr
	local testpmd_stdin=$work/$backend.guest.in

	# The guest: the socket's server, its forwarding lcore on the other CPU.
	mkfifo "$testpmd_stdin"
	dpdk-testpmd --lcores 0@1,1@0 --no-huge -m 1024 --no-pci --file-prefix="${prefix}g" \
		--vdev "net_virtio_user0,path=$sock,server=1,queues=1,packed_vq=$packed,mrg_rxbuf=$(onoff "$mrg"),in_order=$(onoff "$in_order")" \
		-- --nb-cores=1 --txpkts="$size" --burst=32 --total-num-mbufs=32768 \
		--forward-mode="$gmode" --port-topology=loop \
		< "$testpmd_stdin" > "$work/$backend.guest.log" 2>&1 &
	guest_pid=$!
	exec 7> "$testpmd_stdin"
	wait_for "$guest_pid" guest "$work/$backend.guest.log" 300 test -S "$sock"
	if [ "$backend" = vhost ]; then
		vdev="net_vhost0,iface=$sock,client=1,queues=1"
		fn=$fn_vhost
	else
		vdev="net_vhostfix0,iface=$sock,client=1,queues=1"
		if [ "$packed" = 1 ]; then
			vdev="$vdev,packed=1"
		fi
		fn=$fn_ours
		plug=(-d "$so")
	fi
	# Non-interactive testpmd forwards until its stdin gives it a line.
	mkfifo "$work/$backend.host.in"
	valgrind --tool=callgrind --callgrind-out-file="$work/$backend.cg" \
		--toggle-collect="$fn" \
		dpdk-testpmd -l 0,1 --no-huge -m 1024 --no-pci --file-prefix="${prefix}h" \
		--log-level=lib.vhost.config:info "${plug[@]}" --vdev "$vdev" \
		-- --nb-cores=1 --txpkts="$size" --burst=32 --total-num-mbufs=32768 \
		--forward-mode="$hmode" --port-topology=loop \
		< "$work/$backend.host.in" > "$work/$backend.host.log" 2>&1 &
	host_pid=$!
	exec 8> "$work/$backend.host.in"
	# The window: from the guest's rings started (librte_vhost's log, both backends;
	# EAL writes its log unbuffered, unlike testpmd's own lines).
	wait_for "$host_pid" host "$work/$backend.host.log" 1200 \
		grep -q "virtio is now ready for processing" "$work/$backend.host.log"
	sleep "$seconds"
	echo >&8
	exec 8>&-
	wait "$host_pid" || true
	host_pid=
	echo >&7
	exec 7>&-
	wait "$guest_pid" || true
	guest_pid=
	packets=$(sed -n "/Accumulated forward statistics/,\$s/.*$counted: *\([0-9]*\).*/\1/p" \
		"$work/$backend.host.log" | head -1)
	instr=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$work/$backend.cg")
	if [ -z "$packets" ] || [ "$packets" = 0 ] || [ -z "$instr" ]; then
		echo "vhf-instr-host: $backend moved no packets, see its log:" >&2
		cat "$work/$backend.host.log" >&2
		exit 1
	fi
	result=$(awk -v i="$instr" -v p="$packets" 'BEGIN { printf "%.1f", i / p }')
}

measure vhostfix
ours=$result
measure vhost
theirs=$result
printf '%s %s mrg=%s in-order=%s %s B: instructions per packet in the burst call\n' \
	"$dir" "$ring" "$mrg" "$in_order" "$size"
printf '  net_vhostfix (%s)  %s\n' "$fn_ours" "$ours"
printf '  net_vhost (%s)  %s\n' "$fn_vhost" "$theirs"
awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "  ratio  %.2f\n", a / b }'
