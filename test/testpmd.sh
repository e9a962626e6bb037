#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Sourced by the tests that drive an interactive dpdk-testpmd through a FIFO
# (its stdin) and read what it prints in a log (under stdbuf -oL, so whole
# lines): asking for port stats and waiting for the answer, reading them,
# stopping it. Needs usertools/vhf-wait.sh.

# The line of #s that closes each port's stats report.
tp_stats_end='^ *#\{20,\}$'

# tp_show_stats FD LOG PID WHICH [REPORTS]: "show port stats WHICH" (a port id
# or "all") to the testpmd reading FD (PID, printing to LOG); true once its
# answer, REPORTS port reports (default 1), is whole in LOG.
tp_show_stats() {
	local n
	n=$(vhf_count_lines "$2" "$tp_stats_end")
	echo "show port stats $4" >&"$1"
	vhf_wait_count "$2" "$tp_stats_end" $((n + ${5:-1})) 30 "$3"
}

# tp_port_stats LOG PORT: "<rx> <tx>" of port PORT's last stats report in LOG.
tp_port_stats() {
	awk -v p="$2" '
		/NIC statistics for port/ { cur = ($(NF - 1) == p) }
		cur && /RX-packets:/ { rx = $2 }
		cur && /TX-packets:/ { tx = $2 }
		END { print rx + 0, tx + 0 }' "$1"
}

# tp_pair_counted HOST_LOG HOST_PID GUEST_LOG GUEST_PID MIN: a host testpmd read
# from FD 3 and its guest testpmd read from FD 4 have each received and sent at
# least MIN frames on port 0; the counts are left in hrx htx grx gtx.
tp_pair_counted() {
	tp_show_stats 3 "$1" "$2" 0 && tp_show_stats 4 "$3" "$4" 0 || return 1
	read -r hrx htx < <(tp_port_stats "$1" 0)
	read -r grx gtx < <(tp_port_stats "$3" 0)
	[ "$hrx" -ge "$5" ] && [ "$htx" -ge "$5" ] && [ "$grx" -ge "$5" ] && [ "$gtx" -ge "$5" ]
}

# tp_stop PID FD: ask the testpmd reading FD to quit, then insist, by PID;
# FD is closed.
tp_stop() {
	{ echo quit >&"$2"; } 2>/dev/null
	vhf_wait_pid "$1" 15 || vhf_stop_pids 5 "$1"
	eval "exec $2>&-"
}
