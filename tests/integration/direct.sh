#!/usr/bin/env bash
# direct.sh: the test Linux booted directly (--kernel/--initrd, no firmware)
# runs a command list and ends through the test exit device.
#
#   direct.sh LODGE ENGINE CACHE CPUS
#
# What the guest does and what must come out:
#   uname -a                      Linux, the cached kernel's release, x86_64
#   nproc, /proc/cpuinfo          CPUS both
#   sha256sum /lodge/known.bin    the host's hash of cache/known.bin (1 MiB
#                                 from the initramfs: decompression, page cache)
#   awk, floating point           the IEEE double results (checked with
#                                 Python): a sum of 1/i^2, Newton's sqrt(2),
#                                 e's series, 0.1 + 0.2, a subnormal quotient
#                                 (Debian's busybox awk has no libm functions)
#   lodge-cpu spin                the host's checksum (integer ALU, mul/div,
#                                 branches, memory), same static binary
#   with 2+ CPUs: two lodge-cpu runs pinned to CPUs 0 and 1 at once, both
#   correct, and /proc/stat's user time grew on both CPUs meanwhile
#   done, status 0                and lodge exits with 33
set -u
[ $# = 4 ] || { echo "usage: $0 LODGE ENGINE CACHE CPUS" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cpus=$4
it_init "direct boot, $cpus cpu(s)," "$1" "$2" "$3"
it_need_media vmlinuz initramfs.cpio.gz lodge-cpu known.bin

rounds=${LODGE_INTEGRATION_SPIN:-2000000}
fp='BEGIN { s = 0; for (i = 1; i <= 100000; i++) s += 1 / (i * i)
	x = 1; for (i = 0; i < 6; i++) x = (x + 2 / x) / 2
	e = 1; t = 1; for (k = 1; k <= 20; k++) { t /= k; e += t }
	printf "awk: %.12f %.15f %.15f %.17g %.12e\n", s, x, e, 0.1 + 0.2, 1e-310 / 7 * 1e300 }'
fp_out="awk: 1.644924066898 1.414213562373095 2.718281828459046 0.30000000000000004 1.428571428571e-11"
cmds=(
	'echo "uname: $(uname -a)"'
	'echo "cpus: $(nproc) online, $(grep -c ^processor /proc/cpuinfo) in cpuinfo"'
	'sha256sum /lodge/known.bin'
	"awk '$fp'"
	"lodge-cpu spin 1 $rounds"
)
if [ "$cpus" -ge 2 ]; then
	cmds+=(
		"awk '/^cpu[01] / { print \$1, \$2 + \$3 }' /proc/stat >/tmp/before"
		"taskset -c 0 lodge-cpu spin 2 $rounds >/tmp/spin0 & taskset -c 1 lodge-cpu spin 3 $rounds >/tmp/spin1 & wait"
		'sed "s/^/cpu0 /" /tmp/spin0; sed "s/^/cpu1 /" /tmp/spin1'
		"awk 'NR == FNR { b[\$1] = \$2; next } /^cpu[01] / { print \"stat:\", \$1, (\$2 + \$3 > b[\$1] ? \"busy\" : \"idle\"), \"in user mode meanwhile\" }' /tmp/before /proc/stat"
	)
fi
run=$("$it_repo/images/linux-cmdline.sh" "${cmds[@]}")

it_boot 33 --debug-exit --mem 256M --cpus "$cpus" \
	--kernel "$cache/vmlinuz" --initrd "$cache/initramfs.cpio.gz" --append "console=ttyS0 $run"

kver=$(cut -d' ' -f1 "$cache/linux.stamp")
it_expect "lodge-initramfs: init started on Linux $kver" \
	"cpus: $cpus online, $cpus in cpuinfo" \
	"$(cd "$cache" && sha256sum known.bin | sed 's| known.bin| /lodge/known.bin|')" \
	"$fp_out" \
	"$("$cache/lodge-cpu" spin 1 "$rounds")" \
	"lodge-initramfs: done, status 0"
it_expect_re "^uname: Linux [^ ]+ $kver .* x86_64 GNU/Linux$"
if [ "$cpus" -ge 2 ]; then
	it_expect "cpu0 $("$cache/lodge-cpu" spin 2 "$rounds")" \
		"cpu1 $("$cache/lodge-cpu" spin 3 "$rounds")" \
		"stat: cpu0 busy in user mode meanwhile" "stat: cpu1 busy in user mode meanwhile"
fi
it_finish
