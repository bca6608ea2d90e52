#!/bin/sh
# bench/cpu.sh: the software CPU against QEMU's TCG JIT, same guest, same run.
#
#   bench/cpu.sh [BUILD_DIR]            MIPS on bench/cpu_mips.asm
#   LINUX_KERNEL=... LINUX_INITRD=... bench/cpu.sh [BUILD_DIR]
#                                       also boot time to the initramfs marker
#
# MIPS: the guest retires 11 instructions per loop iteration plus one per
# taken INC (it prints that count in hex), ITERS iterations; the time is the
# whole process's wall time (start-up is a few milliseconds). Boot time: from
# process start to the line "init started" of the test initramfs
# (images/build-linux.sh) on the serial console, with tsc=reliable on both.
# The best of RUNS runs counts (the machines are shared: the minimum is the
# least disturbed measurement).
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
iters=${ITERS:-50000000}
runs=${RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed"; exit 1; }
nasm -w-number-overflow -i "$here/../tests/cpu/" -DITERS="$iters" -f bin \
	-o "$tmp/mips.bin" "$here/cpu_mips.asm"

now() { date +%s.%N; }

# best_of CMD...: prints "seconds output-first-line"
best_of() {
	best=
	for i in $(seq "$runs"); do
		t0=$(now)
		out=$("$@" 2>/dev/null | head -1) || true
		t=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
		if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then
			best=$t
		fi
	done
	echo "$best $out"
}

mips() {   # seconds taken-incs-hex
	incs=$(printf '%d' "0x$2")
	awk -v n="$iters" -v i="$incs" -v t="$1" 'BEGIN { printf "%d", (n * 11 + i) / t / 1e6 }'
}

set -- $(best_of "$build/lodge" run --bios "$tmp/mips.bin" --accel emu --debug-exit --headless)
lt=$1 lo=$2
set -- $(best_of qemu-system-x86_64 -accel tcg -bios "$tmp/mips.bin" -m 64 -display none \
	-nodefaults -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4)
qt=$1 qo=$2
[ "$lo" = "$qo" ] || { echo "the two runs disagree: lodge $lo, qemu $qo"; exit 1; }
echo "integer loop: lodge emu $(mips "$lt" "$lo") MIPS (${lt}s), qemu tcg $(mips "$qt" "$qo") MIPS (${qt}s)"

[ -n "${LINUX_KERNEL:-}" ] || exit 0
boot_time() {
	t0=$(now)
	( timeout 600 "$@" 2>&1 & echo $! > "$tmp/pid"; wait ) | while IFS= read -r line; do
		case "$line" in *"init started"*)
			awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }'
			kill "$(cat "$tmp/pid")" 2>/dev/null
			break;;
		esac
	done
}
append="console=ttyS0 tsc=reliable"
lb=$(boot_time "$build/lodge" run --kernel "$LINUX_KERNEL" --initrd "$LINUX_INITRD" \
	--append "$append" --accel emu --headless --mem 256M)
qb=$(boot_time qemu-system-x86_64 -accel tcg -kernel "$LINUX_KERNEL" -initrd "$LINUX_INITRD" \
	-append "$append" -m 256 -display none -nodefaults -serial stdio -no-reboot)
echo "linux boot to the shell marker: lodge emu ${lb}s, qemu tcg ${qb}s"
