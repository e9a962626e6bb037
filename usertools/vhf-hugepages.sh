# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Sourced (bash): 2 MB hugepages for one run, on top of what the machine has,
# and a hugetlbfs mount of the run's own, both given back by vhf_huge_release
# (call it from the EXIT trap). What the machine had reserved, and what other
# users take or give back meanwhile, is left alone: only the pages this run
# added are removed again.
#
#   vhf_huge_reserve PAGES MOUNT   0: PAGES pages free for us and MOUNT a
#                                  hugetlbfs (pagesize=2M, mode 0700);
#                                  1: nothing kept, the reason in
#                                  $vhf_huge_error
#   vhf_huge_release               unmount, remove MOUNT, give the pages back
#
# vhf_huge_sys is the sysfs directory of the 2 MB pool (tests point it at a
# stand-in).

vhf_huge_sys=/sys/kernel/mm/hugepages/hugepages-2048kB
vhf_huge_reserved=0
vhf_huge_dir=
vhf_huge_mounted=
vhf_huge_error=

# vhf_huge_read NAME: the pool's counter NAME (nr_hugepages, free_hugepages).
vhf_huge_read() {
	local v
	read -r v <"$vhf_huge_sys/$1" && [[ "$v" =~ ^[0-9]+$ ]] && echo "$v"
}

vhf_huge_reserve() {
	local pages=$1 mount=$2 nr0 free0 nr free
	vhf_huge_error=
	if ! nr0=$(vhf_huge_read nr_hugepages 2>/dev/null) ||
		! free0=$(vhf_huge_read free_hugepages 2>/dev/null); then
		vhf_huge_error="no 2 MB hugepages here ($vhf_huge_sys)"
		return 1
	fi
	# The kernel may give fewer than asked (fragmented memory): what it gave
	# is counted, and what is really free decides.
	echo $((nr0 + pages)) 2>/dev/null >"$vhf_huge_sys/nr_hugepages"
	nr=$(vhf_huge_read nr_hugepages) || nr=$nr0
	vhf_huge_reserved=$((nr > nr0 ? nr - nr0 : 0))
	free=$(vhf_huge_read free_hugepages) || free=$free0
	if ((free - free0 < pages)); then
		vhf_huge_error="could reserve only $((free > free0 ? free - free0 : 0)) of $pages 2 MB hugepages"
		vhf_huge_release
		return 1
	fi
	if ! mkdir -m 0700 "$mount" 2>/dev/null; then
		vhf_huge_error="cannot create $mount"
		vhf_huge_release
		return 1
	fi
	vhf_huge_dir=$mount
	if ! vhf_huge_error=$(mount -t hugetlbfs -o pagesize=2M nodev "$mount" 2>&1); then
		vhf_huge_error="cannot mount a hugetlbfs on $mount: $vhf_huge_error"
		vhf_huge_release
		return 1
	fi
	vhf_huge_mounted=1
	vhf_huge_error=
}

vhf_huge_release() {
	local nr
	# Files on the mount hold their pages until it goes; then they are free.
	[ -n "$vhf_huge_mounted" ] && umount "$vhf_huge_dir"
	vhf_huge_mounted=
	[ -n "$vhf_huge_dir" ] && rmdir "$vhf_huge_dir" 2>/dev/null
	vhf_huge_dir=
	if [ "$vhf_huge_reserved" -gt 0 ] && nr=$(vhf_huge_read nr_hugepages); then
		echo $((nr - vhf_huge_reserved)) 2>/dev/null >"$vhf_huge_sys/nr_hugepages"
	fi
	vhf_huge_reserved=0
}
