#!/usr/bin/env bash
# run-linux.sh: boot the test Linux guest (images/build-linux.sh) directly
# and run a command list in it: the whole direct-boot path with a real
# kernel (zero page, e820, command line, initrd, MP table) plus the
# initramfs's promise (marker, modules, lodge.run=, exit status).
#
#   run-linux.sh LODGE ENGINE CACHE CPUS
#
# Passes when the serial output shows the init marker, the commands' output
# and "done, status 0", and lodge exits with 33 (status 0 through the
# debug-exit port). Skips when CACHE has no kernel (run make guest-linux)
# or the engine cannot run here. LODGE_LINUX_TIMEOUT bounds it (default 1800
# seconds: a real kernel on a software CPU takes a while).
set -u
[ $# = 4 ] || { echo "usage: $0 LODGE ENGINE CACHE CPUS" >&2; exit 2; }
lodge=$1 engine=$2 cache=$3 cpus=$4
. "$(dirname "$0")/lib.sh"

if [ ! -f "$cache/vmlinuz" ] || [ ! -f "$cache/initramfs.cpio.gz" ]; then
	echo "SKIP linux on $engine: no test Linux guest in $cache (run make guest-linux)"
	exit 77
fi
guest_skip_unusable "$engine" "linux on $engine"
out=$(mktemp -d "${TMPDIR:-/tmp}/lodge-linux.XXXXXX")
trap 'rm -rf "$out"' EXIT

run=$("$(dirname "$0")/../../images/linux-cmdline.sh" \
	'echo "cpus: $(grep -c ^processor /proc/cpuinfo)"' \
	'echo "cmdline word: $(cat /proc/cmdline | tr " " "\n" | grep -c ^lodge.test=42$)"' \
	'test -e /sys/module/ata_piix && echo "ata_piix: loaded"')
timeout -k 10 "${LODGE_LINUX_TIMEOUT:-1800}" "$lodge" run --accel "$engine" --headless \
	--debug-exit --mem 256M --cpus "$cpus" --serial stdio \
	--kernel "$cache/vmlinuz" --initrd "$cache/initramfs.cpio.gz" \
	--append "console=ttyS0 lodge.test=42 $run" </dev/null >"$out/serial" 2>"$out/log"
status=$?
tr -d '\r' <"$out/serial" >"$out/clean"

fail=0
for want in "lodge-initramfs: init started on Linux " "cpus: $cpus" "cmdline word: 1" \
	    "ata_piix: loaded" "lodge-initramfs: done, status 0"; do
	if ! grep -qF -- "$want" "$out/clean"; then
		echo "FAIL linux on $engine: no '$want' on the console"
		fail=1
	fi
done
if [ "$status" != 33 ]; then
	echo "FAIL linux on $engine: lodge exited with $status, expected 33"
	fail=1
fi
if [ $fail = 1 ]; then
	echo "--- console (last 40 lines):"
	tail -n 40 "$out/clean"
	echo "--- lodge's log:"
	tail -n 20 "$out/log"
	exit 1
fi
echo "PASS linux on $engine ($cpus cpus): $(grep -F 'init started' "$out/clean")"
