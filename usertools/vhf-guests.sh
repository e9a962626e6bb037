#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Start, drive and stop Linux guests under QEMU with a vhost-user virtio-net NIC.
#
#   vhf-guests.sh start --dir DIR [options]   start guests, wait until each is READY
#   vhf-guests.sh wait  --dir DIR [--timeout S]  wait for READY (after start --no-wait)
#   vhf-guests.sh exec  --dir DIR -g I [--timeout S] -- CMD...
#                                   run CMD in guest I (sh -c, over its second
#                                   serial port), print its output, exit with
#                                   its status
#   vhf-guests.sh run-output --dir DIR -g I [--timeout S]
#                                   wait for the boot-time vhf.run command of
#                                   guest I, print its output, exit with its status
#   vhf-guests.sh hmp   --dir DIR -g I [--timeout S] -- CMD...
#                                   run QEMU monitor (HMP) command CMD on guest
#                                   I's QEMU (e.g. announce_self), print its output
#   vhf-guests.sh qmp   --dir DIR -g I [--timeout S] -- CMD [JSON-ARGS]
#                                   run QMP command CMD on guest I's QEMU, print
#                                   its "return" as JSON (exit 1 on an "error")
#   vhf-guests.sh migrate --dir DIR -g I --to URI [--timeout S]
#                                   live-migrate guest I to URI (a QEMU started
#                                   with incoming=URI); wait until QEMU says
#                                   completed or failed, print query-migrate's
#                                   answer as JSON; exit 0 only when completed
#   vhf-guests.sh stop  --dir DIR              stop the guests by the PIDs recorded
#
# start options:
#   -n N             number of guests (default: the number of --guest, else 1)
#   --guest SPEC     guest i's settings, in order (repeat per guest); SPEC is
#                    key=value,...: sock=PATH ip=ADDR/LEN mac=MAC packed=0|1
#                    server=0|1 mem=SIZE srv=PORT:PORT... announce=0|1 (0:
#                    QEMU offers the guest no VIRTIO_NET_F_GUEST_ANNOUNCE)
#                    incoming=URI (a migration destination: QEMU waits for
#                    the guest on URI, e.g. unix:PATH; start it with --no-wait,
#                    the same settings as the source, and its own sock=)
#                    paused=1 (QEMU starts with -S: a migration destination
#                    stays paused once the guest arrived, until QMP cont)
#                    tap=IFNAME (no vhost-user: QEMU's own virtio-net on a tap
#                    it creates, for a control run without the back-end)
#                    run=CMD (run= last: it takes the rest of SPEC, commas included)
#   --sock-dir D     default socket of guest i: D/vhost<i>.sock (default: DIR)
#   --packed         packed virtqueues for every guest (packed=on)
#   --server         QEMU listens on the socket (the backend connects as client);
#                    default: QEMU connects, and reconnects, to the backend
#   --srv PORTS      comma-separated iperf3 server ports started in every guest
#   --run CMD        shell command every guest runs once READY (see run-output)
#   --mem SIZE       guest RAM (default 256M), a shared memfd
#   --timeout S      seconds to wait for READY (default 180)
#   --no-wait        return once QEMU runs (needed with --server: QEMU waits for
#                    the backend before it boots the guest)
#   --append ARGS    extra kernel command line
# Defaults of guest i (0-based): ip 10.0.0.(11+i)/24, mac 52:54:00:00:01:(11+i).
#
# DIR receives per-guest QEMU logs (guest<i>.qemu.log), console logs
# (guest<i>.console.log), console sockets (guest<i>.con, for an interactive
# `socat -,raw,echo=0 UNIX-CONNECT:...`), command sockets and logs
# (guest<i>.ctl, guest<i>.ctl.log, for `exec`), QEMU monitor sockets
# (guest<i>.mon, for `hmp`), QMP sockets (guest<i>.qmp, for `qmp` and
# `migrate`) and the PID file (pids). KVM is used
# only when the CPU has vmx or svm; otherwise TCG, on which virtio-net-pci needs
# vectors=0 (QEMU 7.2 aborts on MSI-X with vhost-user under TCG) and a guest is
# ready in about 4-10 s.
set -euo pipefail

prog=vhf-guests
# Installed, bin/dpdk-vhostfix-* is a link to this file: its siblings are beside the target.
top=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
. "$top/usertools/vhf-wait.sh"

die() {
	echo "$prog: $*" >&2
	exit 1
}

usage() {
	sed -n '4,64p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

[ $# -ge 1 ] || usage 2
cmd=$1
shift
case "$cmd" in -h|--help|help) usage 0 ;; esac

dir= n= sock_dir= packed=0 server=0 srv= run= mem=256M timeout=180 nowait=0 append= to=
guest_idx=
specs=()
while [ $# -gt 0 ]; do
	case "$1" in
	--dir) dir=$2; shift 2 ;;
	-n) n=$2; shift 2 ;;
	--guest) specs+=("$2"); shift 2 ;;
	--sock-dir) sock_dir=$2; shift 2 ;;
	--packed) packed=1; shift ;;
	--server) server=1; shift ;;
	--srv) srv=$2; shift 2 ;;
	--run) run=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--no-wait) nowait=1; shift ;;
	--append) append=$2; shift 2 ;;
	--to) to=$2; shift 2 ;;
	-g) guest_idx=$2; shift 2 ;;
	--) shift; break ;;
	-h|--help) usage 0 ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done
[ -n "$dir" ] || die "--dir DIR is required"

# ---- helpers shared by the sub-commands ------------------------------------

# pid_is_ours PID: PID is still a QEMU this launcher started for DIR (a PID
# recorded long ago may belong to someone else by now).
pid_is_ours() {
	[ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$dir/guest"
}

# wait_ready I TIMEOUT: true once guest I printed VHF-READY; false if it
# died, timed out or QEMU fell back to userspace virtio.
wait_ready() {
	local i=$1 t=$2 pid k
	pid=$(awk -v i="$i" '$1 == i { print $2 }' "$dir/pids")
	[ "$t" -ge 1 ] || t=1
	for ((k = 0; k < t * 10; k++)); do
		check_fallback "$i" || return 1
		if grep -q "^VHF-READY" "$dir/guest$i.console.log" 2>/dev/null; then
			return 0
		fi
		if ! pid_is_ours "$pid"; then
			echo "$prog: guest $i (pid $pid) exited before READY" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "$prog: guest $i not READY within ${t}s" >&2
	return 1
}

# check_fallback I: QEMU silently carries on with its own userspace virtio when
# vhost-user cannot start (typically guest RAM that is not shared): the test
# would then measure QEMU, not the backend. Refuse that loudly.
check_fallback() {
	if grep -qi "falling back" "$dir/guest$1.qemu.log" 2>/dev/null; then
		echo "$prog: guest $1: QEMU fell back to userspace virtio:" >&2
		grep -i "falling back" "$dir/guest$1.qemu.log" | head -n 3 | sed 's/^/  /' >&2
		return 1
	fi
}

# sockets_made I: guest I's QEMU has made the sockets it listens on.
sockets_made() {
	local sock server
	read -r sock server < <(awk '{ for (i = 1; i < NF; i++) {
		if ($i == "sock") s = $(i + 1); if ($i == "server") v = $(i + 1) } }
		END { print s, v }' "$dir/guest$1.info")
	[ -S "$dir/guest$1.con" ] && { [ "$server" != 1 ] || [ -S "$sock" ]; }
}

# show_logs I: the end of guest I's logs (those it got to write: not a failure).
show_logs() {
	local i=$1
	echo "--- guest $i: $dir/guest$i.qemu.log" >&2
	{ tail -n 20 "$dir/guest$i.qemu.log" 2>/dev/null || true; } | sed 's/^/  /' >&2
	echo "--- guest $i: $dir/guest$i.console.log" >&2
	{ tail -n 20 "$dir/guest$i.console.log" 2>/dev/null || true; } | tr -d '\r' |
		sed 's/^/  /' >&2
}

stop_all() {
	local i pid k
	[ -f "$dir/pids" ] || return 0
	while read -r i pid; do
		pid_is_ours "$pid" && kill -TERM "$pid" 2>/dev/null
	done <"$dir/pids"
	while read -r i pid; do
		for ((k = 0; k < 100; k++)); do
			pid_is_ours "$pid" || break
			sleep 0.1
		done
		if pid_is_ours "$pid"; then
			kill -KILL "$pid" 2>/dev/null
		fi
	done <"$dir/pids"
	rm -f "$dir/pids" "$dir"/guest*.con "$dir"/guest*.ctl "$dir"/guest*.mon "$dir"/guest*.qmp
}

nguests() {
	[ -f "$dir/pids" ] || die "no guests recorded in $dir/pids"
	wc -l <"$dir/pids"
}

# wait_frame LOG BEGIN END_PREFIX TIMEOUT: print the lines between the line
# BEGIN and the line "END_PREFIX rc=N" of LOG, return N (or 124 on timeout).
wait_frame() {
	local log=$1 begin=$2 endp=$3 t=$4 k rc
	for ((k = 0; k < t * 10; k++)); do
		rc=$(tr -d '\r' <"$log" | awk -v e="$endp" '
			index($0, e " rc=") == 1 { sub(/.* rc=/, ""); if ($0 ~ /^[0-9]+$/) { print; exit } }')
		if [ -n "$rc" ]; then
			tr -d '\r' <"$log" | awk -v b="$begin" -v e="$endp" '
				$0 == b { on = 1; next }
				index($0, e " rc=") == 1 && on { exit }
				on { print }'
			return "$rc"
		fi
		sleep 0.1
	done
	echo "$prog: no '$endp' within ${t}s in $log" >&2
	return 124
}

# ---- sub-commands ---------------------------------------------------------

do_start() {
	local accel image i spec sock ip mac gpacked gserver gmem gsrv grun gannounce kv key val
	local chardev dev cmdline pid pids=() count gincoming incoming gtap gpaused netdev
	command -v qemu-system-x86_64 >/dev/null ||
		die "qemu-system-x86_64 not found (Debian package qemu-system-x86)"
	[ ! -f "$dir/pids" ] || die "$dir/pids exists: guests already running? ('stop' first)"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	sock_dir=${sock_dir:-$dir}
	image=$("$top/usertools/vhf-guest-image.sh") || die "no guest image"

	# /dev/kvm exists on some machines without hardware virtualisation behind
	# it, where a guest does not even boot: trust the CPU flags only.
	if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then
		accel=(-accel kvm -cpu host)
	else
		accel=(-accel tcg)
	fi

	count=${n:-${#specs[@]}}
	[ "$count" -ge 1 ] 2>/dev/null || count=1
	: >"$dir/pids"
	for ((i = 0; i < count; i++)); do
		sock=$sock_dir/vhost$i.sock
		ip=10.0.0.$((11 + i))/24
		mac=$(printf '52:54:00:00:01:%02x' $((0x11 + i)))
		gpacked=$packed gserver=$server gmem=$mem gsrv=$srv grun=$run gannounce=1 gincoming=
		gtap= gpaused=0
		spec=${specs[$i]:-}
		while [ -n "$spec" ]; do
			if [ "${spec#run=}" != "$spec" ]; then
				grun=${spec#run=}
				break
			fi
			kv=${spec%%,*}
			[ "$kv" = "$spec" ] && spec= || spec=${spec#*,}
			key=${kv%%=*} val=${kv#*=}
			case "$key" in
			sock) sock=$val ;;
			ip) ip=$val ;;
			mac) mac=$val ;;
			packed) gpacked=$val ;;
			server) gserver=$val ;;
			mem) gmem=$val ;;
			srv) gsrv=${val//:/,} ;;
			announce) gannounce=$val ;;
			incoming) gincoming=$val ;;
			tap) gtap=$val ;;
			paused) gpaused=$val ;;
			*) stop_all; die "guest $i: unknown key '$key' in --guest" ;;
			esac
		done

		if [ "$gserver" = 1 ]; then
			rm -f "$sock"
			chardev="socket,id=c0,path=$sock,server=on,wait=off"
		else
			# reconnect: QEMU waits for the backend's socket at start and
			# comes back to it when the backend restarts.
			chardev="socket,id=c0,path=$sock,reconnect=1"
		fi
		netdev=(-chardev "$chardev" -netdev vhost-user,chardev=c0,id=n0)
		[ -n "$gtap" ] && netdev=(-netdev "tap,id=n0,ifname=$gtap,script=no,downscript=no")
		dev="virtio-net-pci,netdev=n0,mac=$mac,mrg_rxbuf=on,vectors=0"
		[ "$gpacked" = 1 ] && dev+=",packed=on"
		[ "$gannounce" = 0 ] && dev+=",guest_announce=off"
		cmdline="console=ttyS0 quiet panic=-1 vhf.ip=$ip"
		[ -n "$gsrv" ] && cmdline+=" vhf.srv=$gsrv"
		[ -n "$grun" ] && cmdline+=" vhf.run64=$(printf '%s' "$grun" | base64 -w0)"
		[ -n "$append" ] && cmdline+=" $append"

		# A migration destination must be configured as its source: only
		# -incoming (and its own sockets) may differ.
		incoming=()
		[ -n "$gincoming" ] && incoming=(-incoming "$gincoming")
		[ "$gpaused" = 1 ] && incoming+=(-S)

		rm -f "$dir/guest$i.console.log" "$dir/guest$i.con" "$dir/guest$i.ctl.log" \
			"$dir/guest$i.ctl" "$dir/guest$i.mon" "$dir/guest$i.qmp"
		qemu-system-x86_64 -name "vhf-guest$i" -nodefaults -no-user-config \
			-display none -no-reboot "${accel[@]}" -smp 1 -m "$gmem" \
			-object "memory-backend-memfd,id=mem,size=$gmem,share=on" \
			-numa node,memdev=mem \
			-kernel "$image/vmlinuz" -initrd "$image/initrd.img" -append "$cmdline" \
			-chardev "socket,id=con,path=$dir/guest$i.con,server=on,wait=off,logfile=$dir/guest$i.console.log,logappend=off" \
			-serial chardev:con \
			-chardev "socket,id=ctl,path=$dir/guest$i.ctl,server=on,wait=off,logfile=$dir/guest$i.ctl.log,logappend=off" \
			-serial chardev:ctl \
			-monitor "unix:$dir/guest$i.mon,server=on,wait=off" \
			-qmp "unix:$dir/guest$i.qmp,server=on,wait=off" \
			"${netdev[@]}" \
			-device "$dev" "${incoming[@]}" \
			</dev/null >"$dir/guest$i.qemu.log" 2>&1 &
		pid=$!
		echo "$i $pid" >>"$dir/pids"
		printf '%s\n' "guest $i pid $pid sock $sock ip $ip mac $mac packed $gpacked" \
			"server $gserver accel ${accel[1]}" >"$dir/guest$i.info"
		echo "$prog: guest $i: pid $pid, $sock ($([ "$gserver" = 1 ] && echo server || echo client)," \
			"$([ "$gpacked" = 1 ] && echo packed || echo split)), $ip, $mac, ${accel[1]}" >&2
	done

	if [ "$nowait" = 1 ]; then
		# QEMU got through its command line once it made its sockets: the
		# console's, and with server=1 the vhost-user one it now waits on for
		# the backend (which may connect from then on).
		while read -r i pid; do
			vhf_wait_until 30 "$pid" sockets_made "$i" && continue
			show_logs "$i"
			stop_all
			die "guest $i exited at start (or made no sockets in 30 s)"
		done <"$dir/pids"
		return 0
	fi
	do_wait
}

do_wait() {
	local i pid failed=0 t0=$SECONDS
	while read -r i pid; do
		if ! wait_ready "$i" $((timeout - (SECONDS - t0))); then
			show_logs "$i"
			failed=1
			break
		fi
		echo "$prog: guest $i READY after $((SECONDS - t0)) s" >&2
	done <"$dir/pids"
	if [ "$failed" = 1 ]; then
		stop_all
		exit 1
	fi
}

# exec: the client stays connected until the answer is complete. QEMU takes
# from the socket only what the guest UART's FIFO has room for and drops the
# rest when the client hangs up, so a write-and-close client loses commands.
do_exec() {
	local ctl id
	[ -n "$guest_idx" ] || die "exec: -g I is required"
	[ $# -gt 0 ] || die "exec: no command"
	ctl=$dir/guest$guest_idx.ctl
	[ -S "$ctl" ] || die "no command socket $ctl"
	id=$$-$RANDOM
	python3 - "$ctl" "$id" "$(printf '%s' "$*" | base64 -w0)" "$timeout" <<'PY'
import re, socket, sys, time
path, ident, cmd64, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.sendall(("%s %s\n" % (ident, cmd64)).encode())
begin = "VHF-EXEC-BEGIN-" + ident
end = re.compile(r"^VHF-EXEC-END-%s rc=(\d+)$" % re.escape(ident))
deadline = time.monotonic() + timeout
buf, on = b"", False
while True:
    left = deadline - time.monotonic()
    if left <= 0:
        sys.stderr.write("vhf-guests: no answer to exec %s within %gs\n" % (ident, timeout))
        sys.exit(124)
    s.settimeout(left)
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        continue
    if not chunk:
        sys.stderr.write("vhf-guests: command socket closed\n")
        sys.exit(125)
    buf += chunk
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        text = line.decode(errors="replace").rstrip("\r")
        m = end.match(text)
        if m and on:
            sys.stdout.flush()
            sys.exit(int(m.group(1)))
        if on:
            sys.stdout.write(text + "\n")
        elif text == begin:
            on = True
PY
}

# hmp: one monitor command; its output is what QEMU prints before the next prompt.
do_hmp() {
	local mon
	[ -n "$guest_idx" ] || die "hmp: -g I is required"
	[ $# -gt 0 ] || die "hmp: no command"
	mon=$dir/guest$guest_idx.mon
	[ -S "$mon" ] || die "no monitor socket $mon"
	python3 - "$mon" "$*" "$timeout" <<'PY'
import socket, sys, time
path, cmd, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
deadline = time.monotonic() + timeout
prompt = b"(qemu) "

def until_prompt():
    buf = b""
    while not buf.endswith(prompt):
        left = deadline - time.monotonic()
        if left <= 0:
            sys.exit("vhf-guests: no monitor prompt within %gs" % timeout)
        s.settimeout(left)
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("vhf-guests: monitor socket closed")
        buf += chunk
    return buf[:-len(prompt)]

until_prompt()  # the banner
s.sendall(cmd.encode() + b"\n")
out = until_prompt().decode(errors="replace").replace("\r", "")
# QEMU echoes the command line (with terminal escapes) first: drop that line.
sys.stdout.write(out.split("\n", 1)[1] if "\n" in out else "")
PY
}

# qmp_py MODE ARGS...: the QMP client behind `qmp` and `migrate`.
qmp_py() {
	local qmp
	[ -n "$guest_idx" ] || die "$1: -g I is required"
	qmp=$dir/guest$guest_idx.qmp
	[ -S "$qmp" ] || die "no QMP socket $qmp"
	python3 - "$qmp" "$timeout" "$@" <<'PY'
import json, socket, sys, time
path, timeout, mode, args = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4:]
deadline = time.monotonic() + timeout
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
f = s.makefile("rb")

def read():
    left = deadline - time.monotonic()
    if left <= 0:
        sys.exit("vhf-guests: no QMP answer within %gs" % timeout)
    s.settimeout(left)
    line = f.readline()
    if not line:
        sys.exit("vhf-guests: QMP socket closed")
    return json.loads(line)

def cmd(name, arguments=None):
    msg = {"execute": name}
    if arguments:
        msg["arguments"] = arguments
    s.sendall(json.dumps(msg).encode() + b"\n")
    while True:
        r = read()
        if "event" in r:
            continue
        if "error" in r:
            sys.exit("vhf-guests: QMP %s: %s" % (name, r["error"].get("desc", r["error"])))
        return r["return"]

read()  # the greeting
cmd("qmp_capabilities")
if mode == "qmp":
    print(json.dumps(cmd(args[0], json.loads(args[1]) if len(args) > 1 else None)))
    sys.exit(0)
# migrate: no bandwidth cap (a unix socket on one machine), then wait for an
# end state. The poll interval only bounds how late we notice it.
cmd("migrate-set-parameters", {"max-bandwidth": 8 << 30})
cmd("migrate", {"uri": args[0]})
while True:
    r = cmd("query-migrate")
    if r.get("status") in ("completed", "failed", "cancelled"):
        print(json.dumps(r))
        sys.exit(0 if r["status"] == "completed" else 1)
    time.sleep(0.1)
PY
}

do_qmp() {
	[ $# -gt 0 ] || die "qmp: no command"
	qmp_py qmp "$@"
}

do_migrate() {
	[ -n "$to" ] || die "migrate: --to URI is required"
	qmp_py migrate "$to"
}

do_run_output() {
	[ -n "$guest_idx" ] || die "run-output: -g I is required"
	local rc=0
	wait_frame "$dir/guest$guest_idx.console.log" VHF-RUN-BEGIN VHF-RUN-END "$timeout" || rc=$?
	return $rc
}

case "$cmd" in
start) do_start ;;
wait) nguests >/dev/null; do_wait ;;
exec) do_exec "$@" ;;
run-output) do_run_output ;;
hmp) do_hmp "$@" ;;
qmp) do_qmp "$@" ;;
migrate) do_migrate ;;
stop) stop_all ;;
*) die "unknown sub-command '$cmd' (see --help)" ;;
esac
