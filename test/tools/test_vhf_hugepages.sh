#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# usertools/vhf-hugepages.sh, the reservation of 2 MB pages that the OVS
# benchmark's guest and the DPDK tools test run on: a machine that gives fewer
# pages than asked (a sysfs stand-in whose free count never moves) or none at
# all is refused with the reason and nothing kept; as root on the real pool,
# a page is reserved and mounted, then given back with the mount gone, and a
# mount point that cannot be made gives the pages back too. Then
# vhf-ovs-bench.sh's --guest-pages: anything but 2M or 4K refused, naming the
# option, before anything is set up.

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"
. "$here/../../usertools/vhf-hugepages.sh"
real_sys=$vhf_huge_sys

work=$(mktemp -d /tmp/vhf-hugepages-test.XXXXXX)
cleanup() {
	vhf_huge_release
	rm -rf "$work"
}
trap cleanup EXIT

tap_plan 6

# 1. Fewer pages than asked.
mkdir "$work/sys"
echo 3 >"$work/sys/nr_hugepages"
echo 3 >"$work/sys/free_hugepages"
vhf_huge_sys=$work/sys
if vhf_huge_reserve 10 "$work/mnt"; then
	not_ok "a short reservation accepted"
else
	nr=$(cat "$work/sys/nr_hugepages")
	[ "$vhf_huge_error" = "could reserve only 0 of 10 2 MB hugepages" ] && [ "$nr" = 3 ] &&
		[ ! -e "$work/mnt" ]
	check $? "a short reservation refused ($vhf_huge_error), nr_hugepages back to $nr," \
		"no mount point"
fi

# 2. No pool at all.
vhf_huge_sys=$work/none
if vhf_huge_reserve 1 "$work/mnt"; then
	not_ok "a reservation without a pool accepted"
else
	[ "$vhf_huge_error" = "no 2 MB hugepages here ($work/none)" ] && [ ! -e "$work/mnt" ]
	check $? "no pool: refused ($vhf_huge_error)"
fi

# 3-4. The real pool, as root.
vhf_huge_sys=$real_sys
if [ "$(id -u)" != 0 ] || [ ! -w "$real_sys/nr_hugepages" ]; then
	ok "# SKIP needs root and $real_sys"
	ok "# SKIP needs root and $real_sys"
else
	nr0=$(cat "$real_sys/nr_hugepages")
	if ! vhf_huge_reserve 1 "$work/huge"; then
		ok "# SKIP this machine gives no 2 MB page: $vhf_huge_error"
	else
		fs=$(stat -f -c %T "$work/huge")
		free_in=$(cat "$real_sys/free_hugepages")
		vhf_huge_release
		nr=$(cat "$real_sys/nr_hugepages")
		[ "$fs" = hugetlbfs ] && [ "$free_in" -ge 1 ] && [ "$nr" = "$nr0" ] &&
			[ ! -e "$work/huge" ] && ! grep -q " $work/huge " /proc/mounts
		check $? "one page reserved on a hugetlbfs ($fs, $free_in free), given back:" \
			"nr_hugepages $nr0 -> $nr, mount gone"
	fi
	if vhf_huge_reserve 1 "$work/no/such/dir"; then
		not_ok "a mount point that cannot be made accepted"
	else
		nr=$(cat "$real_sys/nr_hugepages")
		case $vhf_huge_error in
		"cannot create $work/no/such/dir"|"could reserve only"*|"no 2 MB"*)
			[ "$nr" = "$nr0" ]
			check $? "no mount point: refused ($vhf_huge_error), nr_hugepages $nr" ;;
		*) not_ok "no mount point: $vhf_huge_error" ;;
		esac
	fi
fi

# 5-6. vhf-ovs-bench.sh's --guest-pages.
out=$("$here/../../usertools/vhf-ovs-bench.sh" --guest-pages 1G 2>&1)
rc=$?
[ "$rc" = 2 ] && [[ "$out" == *"--guest-pages '1G': 2M or 4K"* ]]
check $? "vhf-ovs-bench.sh --guest-pages 1G: exit $rc, $out"
out=$("$here/../../usertools/vhf-ovs-bench.sh" --guest-pages 4k --so "$work/none.so" 2>&1)
rc=$?
[ "$rc" != 2 ] && [[ "$out" != *"--guest-pages"* ]]
check $? "vhf-ovs-bench.sh --guest-pages 4k: accepted (then exit $rc: ${out%%$'\n'*})"

[ "$tap_failed" -eq 0 ]
