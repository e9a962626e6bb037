#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Live migration of a real Linux guest between two net_vhostfix ports of one
# Open vSwitch under traffic: the qemu suite's migration (test/qemu/
# migrate_lib.sh, shared with test_migrate.sh) with OVS-DPDK as the switch.
#
# A private ovs-vswitchd with DPDK (usertools/vhf-ovs-private.sh) runs in a
# network namespace made here, our plugin loaded through dpdk-extra. Its
# netdev bridge br0 is a learning switch (standalone, the NORMAL action) with:
#   vfA  type=dpdk, net_vhostfix0,iface=<run dir>/A.sock,packed=1  (ofport 1)
#   vfB  type=dpdk, net_vhostfix1,iface=<run dir>/B.sock,packed=1  (ofport 2)
#   br0  the bridge's internal port (a tap in the namespace): 10.0.0.1, the
#        traffic's host end
# both dpdk ports added by usertools/vhf-ovs-add-port.sh, as users add them.
# The guest boots on vfA; a QEMU with -incoming waits on vfB; the guest moves
# A -> B -> A (VHF_MIGRATE_COUNT=3: and on to B, as in test_migrate.sh). After
# each migration OVS must have learned the guest's MAC on the destination's
# port (ovs-appctl fdb/show). Fresh ports for each ring (split, then packed).
# Last, ovs-vswitchd is alive with no ERR in its log.
#
# Usage: test_ovs_migrate.sh <librte_net_vhostfix.so> <usertools/vhf-guests.sh>
# Prints TAP. Needs root, QEMU and OVS-DPDK (installs usertools/packages/ovs.txt
# when it is missing; skips when that or QEMU is unusable).

set -u
so=${1:-}
guests=${2:-}
if [ ! -f "$so" ] || [ ! -x "$guests" ]; then
	echo "1..0 # SKIP usage: $0 <librte_net_vhostfix.so> <vhf-guests.sh>"
	exit 1
fi
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/test/qemu/qemu_lib.sh"
. "$top/test/qemu/migrate_lib.sh"
. "$top/usertools/vhf-ovs-private.sh"
. "$here/ovs_lib.sh"

# A ring takes the guest's boot plus its UDP stream (mig_udp_pkts / 100 s),
# which is to outlast the ring's migrations (whether it did is printed). Two
# migrations, A -> B -> A, each port receiving the guest and losing it, take
# 11-15 s on a loaded 2-core machine: 18 s of stream, about 30 s a ring.
mig_count=${VHF_MIGRATE_COUNT:-2}
mig_udp_pkts=${VHF_MIGRATE_UDP_PKTS:-1800}
ncases=$(($(mig_ncases) + 2))
q_init $ncases
ovs_need $ncases "$q_work/apt.log"

ns=vhfom$$
cleanup() {
	q_cleanup
	if [ "${VHF_QEMU_TEST_KEEP:-0}" = 1 ]; then
		ovs_priv_stop keep
		echo "# kept $ovs_dir" >&2
	else
		ovs_priv_stop
	fi
	mig_ns_delete
}
trap cleanup EXIT

mig_ns_make $ncases
ovs_priv_netns=$ns
ovs_dir=/run/vhf-ovs-migrate.$$
ovs_log=$ovs_dir/ovs-vswitchd.log

# 1. OVS with the plugin, in the namespace; br0 with 10.0.0.1 on its own port.
# OVS's PMD thread sleeps when idle (pmd-maxsleep, OVS 3.1): the guests' TCG
# vCPUs need the CPU more than its polling does.
if ! ovs_priv_start "$ovs_dir" "$so" other_config:pmd-maxsleep=10000; then
	not_ok "private ovs-vswitchd with DPDK did not start"
	diag <"$ovs_log"
	exit 1
fi
# The PMD says at INFO when the front-end switches dirty logging on.
ovs-appctl --timeout=10 -t ovs-vswitchd dpdk/log-set 'pmd.net.vhostfix*:info' >/dev/null
br_up() {
	ip -n "$ns" link show br0 >/dev/null 2>&1
}
if ovs-vsctl --timeout=10 add-br br0 -- set Bridge br0 datapath_type=netdev \
	"other-config:hwaddr=\"$mig_host_mac\"" && vhf_wait_until 10 "" br_up &&
	mig_endpoint br0 && grep -q "$ovs_priv_plugin" "/proc/$ovs_priv_vs_pid/maps"; then
	ok "private ovs-vswitchd (pid $ovs_priv_vs_pid, in netns $ns) with" \
		"librte_net_vhostfix.so loaded through dpdk-extra; netdev bridge br0," \
		"NORMAL action, 10.0.0.1 on its internal port"
else
	not_ok "OVS set-up: bridge br0 in $ns $(br_up && echo up || echo missing)," \
		"plugin $(grep -q "$ovs_priv_plugin" "/proc/$ovs_priv_vs_pid/maps" && echo loaded ||
			echo 'not loaded')"
	diag <"$ovs_log"
	exit 1
fi
log_mark=$(wc -l <"$ovs_log")

# The back-ends as migrate_lib.sh wants them: ports vfA (ofport 1) and vfB
# (ofport 2) of br0, each added afresh for a ring.
declare -A ofport=([A]=1 [B]=2)
mig_back_ends() {
	local b
	for b in A B; do
		"$top/usertools/vhf-ovs-add-port.sh" --ofport "${ofport[$b]}" --devargs packed=1 \
			br0 "vf$b" "$(mig_sock $b)" >"$q_work/addport$b.log" 2>&1 && continue
		diag <"$q_work/addport$b.log"
		return 1
	done
}
mig_back_ends_stop() {
	ovs-vsctl --timeout=20 --if-exists del-port br0 vfA -- --if-exists del-port br0 vfB
}
mig_sock() {
	echo "$ovs_dir/$1.sock"
}
mig_logging_ons() {
	vhf_count_lines "$ovs_log" "$(mig_sock "$1"): dirty logging on"
}
# The OpenFlow port OVS's MAC learning table has the guest's MAC on.
mig_fdb_port() {
	ovs-appctl --timeout=10 fdb/show br0 | awk -v m="$mig_guest_mac" '$3 == m { print $1; exit }'
}
mig_port() {
	echo "${ofport[$1]}"
}
mig_where() {
	echo "port vf$1 (OpenFlow port ${ofport[$1]})"
}
# The port's own lines (not librte_vhost's, many per connection) and OVS's
# warnings and errors.
mig_diag() {
	grep -e "net_vhostfix: $(mig_sock "$1")" -e "vf$1" -e '|ERR|' -e '|WARN|' "$ovs_log" | diag
}

# 2.. the migrations and the streams.
mig_run_rings

# Last: ovs-vswitchd alive and answering, nothing went wrong in its log.
errs=$(tail -n +$((log_mark + 1)) "$ovs_log" | grep -E '\|(ERR|EMER)\|')
if ovs_priv_alive && [ -z "$errs" ]; then
	ok "ovs-vswitchd alive and answering at the end, no ERR in its log"
else
	not_ok "ovs-vswitchd at the end: $(ovs_priv_alive && echo alive || echo gone)"
	diag <<<"${errs:-$(tail -n 40 "$ovs_log")}"
fi
[ "$tap_failed" -eq 0 ]
