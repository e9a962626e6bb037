#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Sourced by test/ovs/ and usertools/vhf-ovs-bench.sh: a private Open vSwitch
# with DPDK (Debian's ovs-vswitchd-dpdk) that shares nothing with a system
# OVS. Its database, sockets, pid files and logs live in one run directory,
# OVS_RUNDIR points there so that ovs-vsctl, ovs-appctl and ovs-ofctl talk to
# this instance only, both daemons are children of the caller (no --detach,
# no systemd) and ovs_priv_stop stops them by PID.
#
# The run directory is root-owned 0755 under /run, and the plugin is copied
# into it: EAL refuses a -d plugin whose path has a world-writable parent, and
# the checkout may well be under /tmp.

. "$(dirname "${BASH_SOURCE[0]}")/vhf-wait.sh"

ovs_priv_dir=
ovs_priv_prefix=
ovs_priv_db_pid=
ovs_priv_vs_pid=
ovs_priv_plugin=
# Set before ovs_priv_start: the network namespace ovs-vswitchd runs in (ip
# netns exec, the same PID), where its internal ports are made (taps, with
# the netdev datapath). Empty: the caller's.
ovs_priv_netns=

# ovs_priv_find_vswitchd: print the DPDK build of ovs-vswitchd, or nothing.
ovs_priv_find_vswitchd() {
	local c
	for c in "${OVS_VSWITCHD_DPDK:-}" /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk \
		/usr/sbin/ovs-vswitchd; do
		[ -n "$c" ] && [ -x "$c" ] || continue
		# The plain build says nothing about DPDK in its version.
		if "$c" --version 2>/dev/null | grep -q '^DPDK'; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# ovs_priv_start DIR PLUGIN [KEY=VALUE...]: start ovsdb-server and the DPDK
# ovs-vswitchd with DPDK initialised from the start. DIR must not exist yet.
# PLUGIN "" loads no -d: EAL finds an installed net_vhostfix in its driver
# directory, as it finds its own drivers.
# KEY=VALUE pairs go to Open_vSwitch other_config on top of the defaults
# (pmd-cpu-mask, per-port-memory...). Returns non-zero with a message on
# stderr when something did not come up; ovs_priv_stop cleans up either way.
ovs_priv_start() {
	local dir=$1 plugin=$2 vswitchd
	shift 2
	vswitchd=$(ovs_priv_find_vswitchd) || {
		echo "no DPDK build of ovs-vswitchd (Debian package openvswitch-switch-dpdk)" >&2
		return 1
	}
	mkdir -m 0755 "$dir" || return 1
	ovs_priv_dir=$dir
	ovs_priv_prefix=vhfovs$$
	export OVS_RUNDIR=$dir OVS_DBDIR=$dir OVS_LOGDIR=$dir
	if [ -n "$plugin" ]; then
		install -m 0644 "$plugin" "$dir/librte_net_vhostfix.so" || return 1
		ovs_priv_plugin=$dir/librte_net_vhostfix.so
	fi

	ovsdb-tool create "$dir/conf.db" /usr/share/openvswitch/vswitch.ovsschema || return 1
	ovsdb-server "$dir/conf.db" --remote="punix:$dir/db.sock" \
		--pidfile="$dir/ovsdb-server.pid" --log-file="$dir/ovsdb-server.log" -vconsole:off \
		>"$dir/ovsdb-server.out" 2>&1 &
	ovs_priv_db_pid=$!
	vhf_wait_until 10 "$ovs_priv_db_pid" test -S "$dir/db.sock"
	ovs-vsctl --timeout=10 --no-wait init || return 1
	# OVS 3.1 adds --in-memory to the EAL arguments unless --legacy-mem is there,
	# and --in-memory refuses --no-huge. Without hugepages, no dpdk-socket-mem:
	# -m sizes the one heap. --file-prefix keeps EAL's runtime directory ours.
	local eal="--no-huge --legacy-mem -m 1024 --no-pci --file-prefix=$ovs_priv_prefix"
	ovs-vsctl --timeout=10 --no-wait set Open_vSwitch . \
		other_config:dpdk-init=true \
		"other_config:dpdk-extra=$eal${ovs_priv_plugin:+ -d $ovs_priv_plugin}" \
		other_config:per-port-memory=true \
		other_config:pmd-cpu-mask=0x2 \
		"$@" || return 1

	# Run under the name ovs-vswitchd, as Debian's alternatives link does: the
	# control socket is named after the program (ovs-vswitchd.<pid>.ctl), and
	# that is where "ovs-appctl -t ovs-vswitchd" looks.
	ln -s "$vswitchd" "$dir/ovs-vswitchd" || return 1
	${ovs_priv_netns:+ip netns exec "$ovs_priv_netns"} \
		"$dir/ovs-vswitchd" "unix:$dir/db.sock" --pidfile="$dir/ovs-vswitchd.pid" \
		--log-file="$dir/ovs-vswitchd.log" -vconsole:off \
		>"$dir/ovs-vswitchd.out" 2>&1 &
	ovs_priv_vs_pid=$!
	vhf_wait_until 30 "$ovs_priv_vs_pid" ovs_priv_dpdk_initialized && return 0
	echo "ovs-vswitchd did not initialise DPDK (log: $dir/ovs-vswitchd.log)" >&2
	return 1
}

ovs_priv_dpdk_initialized() {
	[ "$(ovs-vsctl --timeout=5 get Open_vSwitch . dpdk_initialized 2>/dev/null)" = true ]
}

# ovs_priv_alive: ovs-vswitchd still runs and answers on its control socket.
ovs_priv_alive() {
	kill -0 "$ovs_priv_vs_pid" 2>/dev/null &&
		ovs-appctl --timeout=10 -t ovs-vswitchd version >/dev/null 2>&1
}

# ovs_priv_stop [KEEP_DIR]: stop both daemons by PID (SIGTERM, then SIGKILL
# after 10 s), remove EAL's runtime directory and, unless KEEP_DIR is given,
# the run directory. Sets ovs_priv_vs_status to how ovs-vswitchd ended:
# "exit N", or "killed" when SIGTERM was not enough.
ovs_priv_vs_status=
ovs_priv_stop() {
	local pid how
	for pid in "$ovs_priv_vs_pid" "$ovs_priv_db_pid"; do
		[ -n "$pid" ] || continue
		if vhf_stop_pids 10 "$pid"; then
			how="exit $vhf_wait_status"
		else
			how=killed
		fi
		[ "$pid" = "$ovs_priv_vs_pid" ] && ovs_priv_vs_status=$how
	done
	ovs_priv_vs_pid=
	ovs_priv_db_pid=
	[ -n "$ovs_priv_prefix" ] && rm -rf "/var/run/dpdk/$ovs_priv_prefix"
	[ -n "$ovs_priv_dir" ] && [ -z "${1:-}" ] && rm -rf "$ovs_priv_dir"
	return 0
}
