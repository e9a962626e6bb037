#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Add a net_vhostfix port (a guest behind dpdk-vhostfix's datapath) to a running
# OVS-DPDK bridge, after checking that ovs-vswitchd runs with DPDK and has our
# plugin loaded; verify the port came up with our driver. See README.md,
# section "OVS-DPDK".
#
# Exit status: 0 port added and verified; 1 OVS is not ready for it (the
# message says what to set); 2 bad arguments; 3 OVS refused or failed the port
# (it is removed again, unless --keep).
set -uo pipefail

prog=$(basename "$0")

usage() {
	cat <<EOF
usage: $prog [options] BRIDGE PORT SOCKET

Adds PORT to the netdev BRIDGE of a running OVS-DPDK as
  type=dpdk options:dpdk-devargs=<devname>,iface=SOCKET[,client=1][,<devargs>]
so that the guest on vhost-user socket SOCKET is served by net_vhostfix.

  BRIDGE           an existing bridge (datapath_type=netdev)
  PORT             the new port's name
  SOCKET           absolute path of the vhost-user socket

options:
  --devname NAME   DPDK device name, net_vhostfix<N> (default: the first
                   net_vhostfix<N> no interface of this OVS uses yet)
  --client         our port connects to SOCKET (the guest side listens, e.g.
                   QEMU -chardev socket,server=on) and reconnects when the
                   guest side comes back, like OVS's dpdkvhostuserclient
  --devargs LIST   more devargs, e.g. queues=2,packed=1 (see README.md)
  --ofport N       ofport_request for the port
  --plugin PATH    the librte_net_vhostfix.so ovs-vswitchd must have loaded
                   (default: whichever the running ovs-vswitchd has, installed
                   in DPDK's driver directory or given with -d in dpdk-extra)
  --rundir DIR     OVS run directory (default: \$OVS_RUNDIR, or OVS's own)
  --timeout S      seconds to wait for the port to come up (default 20)
  --keep           leave a port that failed in the database, for inspection
  -h, --help       this text
EOF
}

die_usage() {
	echo "$prog: $*" >&2
	echo "Try '$prog --help'." >&2
	exit 2
}

# fail LINE...: each argument a line of the message; exit 1.
fail() {
	echo "$prog: $1" >&2
	shift
	[ $# -eq 0 ] || printf '%s\n' "$@" >&2
	exit 1
}

devname= client=0 extra= ofport= plugin= timeout=20 keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--devname) [ $# -ge 2 ] || die_usage "$1 needs a value"; devname=$2; shift 2 ;;
	--devname=*) devname=${1#*=}; shift ;;
	--client) client=1; shift ;;
	--devargs) [ $# -ge 2 ] || die_usage "$1 needs a value"; extra=$2; shift 2 ;;
	--devargs=*) extra=${1#*=}; shift ;;
	--ofport) [ $# -ge 2 ] || die_usage "$1 needs a value"; ofport=$2; shift 2 ;;
	--ofport=*) ofport=${1#*=}; shift ;;
	--plugin) [ $# -ge 2 ] || die_usage "$1 needs a value"; plugin=$2; shift 2 ;;
	--plugin=*) plugin=${1#*=}; shift ;;
	--rundir) [ $# -ge 2 ] || die_usage "$1 needs a value"; export OVS_RUNDIR=$2; shift 2 ;;
	--rundir=*) export OVS_RUNDIR=${1#*=}; shift ;;
	--timeout) [ $# -ge 2 ] || die_usage "$1 needs a value"; timeout=$2; shift 2 ;;
	--timeout=*) timeout=${1#*=}; shift ;;
	--keep) keep=1; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	-*) die_usage "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -eq 3 ] || die_usage "expected BRIDGE PORT SOCKET, got $# argument(s)"
bridge=$1 port=$2 sock=$3

# --- arguments -------------------------------------------------------------

[[ "$port" =~ ^[A-Za-z0-9_.-]{1,64}$ ]] ||
	die_usage "port name '$port': use letters, digits, '_', '.' or '-'"
case $sock in
/*) ;;
*) die_usage "socket '$sock' must be an absolute path (OVS resolves paths in its own directory)" ;;
esac
[[ "$sock" == *[,\ ]* ]] && die_usage "socket '$sock': no commas or spaces (devargs separator)"
[ -d "$(dirname "$sock")" ] || die_usage "socket directory $(dirname "$sock") does not exist"
[ ${#sock} -lt 108 ] || die_usage "socket '$sock' is longer than a unix socket path may be"
if [ -n "$devname" ] && ! [[ "$devname" =~ ^net_vhostfix[0-9]+$ ]]; then
	die_usage "device name '$devname': must be net_vhostfix<N>"
fi
if [ -n "$extra" ]; then
	[[ "$extra" =~ ^[a-z_]+=[A-Za-z0-9_]+(,[a-z_]+=[A-Za-z0-9_]+)*$ ]] ||
		die_usage "devargs '$extra': expected key=value[,key=value...]"
	[[ ",$extra" == *,iface=* ]] && die_usage "devargs: give the socket as SOCKET, not iface="
	[[ ",$extra" == *,client=* ]] && die_usage "devargs: use --client, not client="
fi
if [ -n "$ofport" ] && ! [[ "$ofport" =~ ^[1-9][0-9]{0,4}$ ]]; then
	die_usage "--ofport '$ofport': expected a number 1..65279"
fi
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || die_usage "--timeout '$timeout': expected whole seconds"
[ -z "$plugin" ] || [ -f "$plugin" ] || die_usage "--plugin $plugin: no such file"

command -v ovs-vsctl >/dev/null ||
	fail "ovs-vsctl not found: install Open vSwitch with DPDK (Debian: openvswitch-switch-dpdk)"

vsctl() {
	ovs-vsctl --timeout=10 "$@"
}

# --- the running OVS -------------------------------------------------------

rundir=${OVS_RUNDIR:-/var/run/openvswitch}
vsctl show >/dev/null 2>&1 ||
	fail "cannot reach ovsdb-server (run directory $rundir): is Open vSwitch running?" \
		"Use --rundir for an instance with its own run directory."

# The database outlives ovs-vswitchd, and with it a stale dpdk_initialized.
# Its control socket is named after the program: ovs-vswitchd.<pid>.ctl, or
# ovs-vswitchd-dpdk.<pid>.ctl when the DPDK binary was started by that name.
vs_pid=
[ -r "$rundir/ovs-vswitchd.pid" ] && vs_pid=$(cat "$rundir/ovs-vswitchd.pid")
vs_ctl=ovs-vswitchd
if [ -n "$vs_pid" ] && [ ! -S "$rundir/ovs-vswitchd.$vs_pid.ctl" ] &&
	[ -S "$rundir/ovs-vswitchd-dpdk.$vs_pid.ctl" ]; then
	vs_ctl=$rundir/ovs-vswitchd-dpdk.$vs_pid.ctl
fi
ovs-appctl --timeout=10 -t "$vs_ctl" version >/dev/null 2>&1 ||
	fail "ovsdb-server answers but ovs-vswitchd does not (run directory $rundir): start it"

restart_hint="Then restart ovs-vswitchd (DPDK reads these once, at start), e.g."
restart_cmd="  systemctl restart openvswitch-switch"
dpdk_bin=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk

dpdk_init=$(vsctl --if-exists get Open_vSwitch . other_config:dpdk-init | tr -d '"')
initialized=$(vsctl get Open_vSwitch . dpdk_initialized 2>/dev/null)
version=$(vsctl get Open_vSwitch . dpdk_version 2>/dev/null | tr -d '"')
if [ "$initialized" != true ]; then
	if [ "$dpdk_init" != true ] && [ "$dpdk_init" != try ]; then
		fail "DPDK is not enabled in this OVS. Set" \
			"  ovs-vsctl set Open_vSwitch . other_config:dpdk-init=true" \
			"and dpdk-extra as in README.md (section OVS-DPDK)." "$restart_hint" \
			"$restart_cmd"
	fi
	case $version in
	DPDK*) fail "dpdk-init is set but DPDK did not initialise ($version)." \
		"See ovs-vswitchd.log (EAL ARGS and the lines after it), fix dpdk-extra." \
		"$restart_hint" "$restart_cmd" ;;
	*) fail "the running ovs-vswitchd has no DPDK (dpdk_version '${version}'). On Debian:" \
		"  apt-get install openvswitch-switch-dpdk" \
		"  update-alternatives --set ovs-vswitchd $dpdk_bin" \
		"$restart_hint" "$restart_cmd" ;;
	esac
fi

# The plugin: mapped in the running process, either autoloaded from DPDK's driver
# directory (installed) or named in dpdk-extra (the database may have been changed
# since ovs-vswitchd started).
extra_args=$(vsctl --if-exists get Open_vSwitch . other_config:dpdk-extra |
	sed 's/^"//; s/"$//')
configured=$(awk '{ for (i = 1; i < NF; i++)
		if ($i == "-d" && $(i + 1) ~ /librte_net_vhostfix\.so/) print $(i + 1) }' \
	<<<"$extra_args" | head -n 1)
loaded=
if [ -n "$vs_pid" ] && [ -r "/proc/$vs_pid/maps" ]; then
	loaded=$(awk '$6 ~ /librte_net_vhostfix\.so/ { print $6; exit }' "/proc/$vs_pid/maps")
fi

# Autoloaded: the copy mapped lives in DPDK's driver directory (.../pmds-<ABI>),
# where EAL will find it again after a restart. A copy loaded through an older
# dpdk-extra does not count: the next restart would lose it.
autoloaded=
if [ -n "$loaded" ] && [[ "$(dirname "$loaded")" == */pmds-* ]]; then
	autoloaded=$loaded
fi
if [ -z "$configured" ] && [ -z "$autoloaded" ]; then
	want=${plugin:-/usr/local/lib/dpdk-vhostfix/librte_net_vhostfix.so}
	new_extra="${extra_args:+$extra_args }-d $want"
	fail "ovs-vswitchd has not loaded net_vhostfix. Either install it where EAL loads" \
		"every driver from at start (meson install, or the package:" \
		"  pkg-config --variable=pmddir libdpdk-vhostfix" \
		"says where) and restart ovs-vswitchd; or copy the plugin to a root-owned" \
		"directory none of whose parents is world-writable (EAL refuses others), e.g." \
		"  install -D -m 0644 build/drivers/net/vhostfix/librte_net_vhostfix.so $want" \
		"and set" \
		"  ovs-vsctl set Open_vSwitch . other_config:dpdk-extra=\"$new_extra\"" \
		"$restart_hint" "$restart_cmd"
fi
# Compared by content: the copy OVS loads lives elsewhere than the build.
if [ -n "$plugin" ] && ! cmp -s "$plugin" "${configured:-$autoloaded}"; then
	fail "ovs-vswitchd loads ${configured:-$autoloaded}, which is not the same file as $plugin:" \
		"copy it there or change other_config:dpdk-extra." "$restart_hint" "$restart_cmd"
fi
if [ -n "$configured" ] && [ -n "$vs_pid" ] && [ -r "/proc/$vs_pid/maps" ] && [ -z "$loaded" ]; then
	hint=
	p=$(dirname "$configured")
	while [ "$p" != / ] && [ -n "$p" ]; do
		if [ -d "$p" ] && [ -n "$(find "$p" -maxdepth 0 -perm -0002 2>/dev/null)" ]; then
			hint="$p is world-writable: EAL refuses plugins below it; move the .so."
			break
		fi
		p=$(dirname "$p")
	done
	[ -f "$configured" ] || hint="$configured does not exist."
	fail "dpdk-extra names $configured but ovs-vswitchd (pid $vs_pid) has not loaded it:" \
		"it was started before the setting, or EAL refused the file. ${hint}" \
		"Check ovs-vswitchd.log (the EAL lines)." "$restart_hint" "$restart_cmd"
fi

per_port=$(vsctl --if-exists get Open_vSwitch . other_config:per-port-memory | tr -d '"')
if [ "$per_port" != true ]; then
	printf '%s\n' "$prog: warning: other_config:per-port-memory is not true: DPDK ports" \
		"share OVS's mbuf pools, sized for NICs. Recommended:" \
		"  ovs-vsctl set Open_vSwitch . other_config:per-port-memory=true" \
		"(read at start: takes effect when ovs-vswitchd restarts)." >&2
fi

# --- the bridge and the port ----------------------------------------------

vsctl br-exists "$bridge" || die_usage "bridge '$bridge' does not exist"
dptype=$(vsctl get Bridge "$bridge" datapath_type | tr -d '"')
[ "$dptype" = netdev ] ||
	fail "bridge '$bridge' has datapath_type '${dptype:-system}'; DPDK ports need netdev:" \
		"  ovs-vsctl set Bridge $bridge datapath_type=netdev"
[ -z "$(vsctl --if-exists get Interface "$port" name)" ] ||
	die_usage "an interface named '$port' exists already"

# Device names and sockets already in use by this OVS's DPDK interfaces.
used=
for name in $(vsctl --bare --columns=name find Interface type=dpdk); do
	used+=$(vsctl --if-exists get Interface "$name" options:dpdk-devargs | tr -d '"')$'\n'
done
if [ -z "$devname" ]; then
	for ((n = 0; n < 1024; n++)); do
		grep -q "^net_vhostfix$n\(,\|$\)" <<<"$used" || break
	done
	devname=net_vhostfix$n
elif grep -q "^$devname\(,\|$\)" <<<"$used"; then
	die_usage "device name $devname is used by another interface"
fi
if grep -q "iface=$sock\(,\|$\)" <<<"$used"; then
	die_usage "socket $sock is used by another interface"
fi

devargs="$devname,iface=$sock"
[ "$client" = 1 ] && devargs+=",client=1"
[ -n "$extra" ] && devargs+=",$extra"

set_args=(type=dpdk "options:dpdk-devargs=$devargs")
[ -n "$ofport" ] && set_args+=("ofport_request=$ofport")
if ! out=$(vsctl add-port "$bridge" "$port" -- set Interface "$port" "${set_args[@]}" 2>&1); then
	echo "$prog: ovs-vsctl add-port failed: $out" >&2
	exit 3
fi

# --- verify ----------------------------------------------------------------

err= driver=
for ((i = 0; i < timeout * 10; i++)); do
	err=$(vsctl get Interface "$port" error 2>/dev/null | tr -d '"')
	[ "$err" = "[]" ] && err=
	[ -n "$err" ] && break
	driver=$(vsctl --if-exists get Interface "$port" status:driver_name 2>/dev/null | tr -d '"')
	[ -n "$driver" ] && break
	sleep 0.1
done

if [ -n "$err" ] || [ "$driver" != net_vhostfix ]; then
	why=${err:-driver_name is '${driver:-unset}' after ${timeout}s, not net_vhostfix}
	echo "$prog: port $port failed: $why" >&2
	echo "$prog: see ovs-vswitchd.log, after" \
		"ovs-appctl dpdk/log-set 'pmd.net.vhostfix*:info'" >&2
	if [ "$keep" = 0 ]; then
		vsctl --if-exists del-port "$bridge" "$port" >/dev/null 2>&1
		echo "$prog: port $port removed again (--keep leaves it)" >&2
	fi
	exit 3
fi

ofp=$(vsctl get Interface "$port" ofport)
link=$(vsctl get Interface "$port" link_state 2>/dev/null | tr -d '"')
echo "$prog: $bridge port $port (ofport $ofp): driver_name=net_vhostfix," \
	"dpdk-devargs=$devargs, link ${link:-unknown}"
if [ "$client" = 1 ]; then
	echo "$prog: connecting to $sock (the guest side listens there) and reconnecting as needed"
else
	echo "$prog: listening on $sock: start the guest with it, e.g. QEMU" \
		"-chardev socket,id=c0,path=$sock -netdev vhost-user,id=n0,chardev=c0"
fi
exit 0
