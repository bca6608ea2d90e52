#!/bin/sh
# Boots images/tiny/hpet_probe.asm on ENGINE and checks that every step
# passed. On KVM, which has no in-kernel HPET, this is our model answering
# MMIO exits and raising IRQ8 through KVM's in-kernel 8259; on the software
# CPU, our HPET, 8259 and I/O APIC together.
# Usage: hpet_probe.sh LODGE ENGINE IMAGE WORKDIR
set -u
lodge=$1 engine=$2 image=$3 dir=$4
. "$(dirname "$0")/lib.sh"
guest_skip_unusable "$engine" "hpet-probe on $engine"
mkdir -p "$dir"
out="$dir/hpet_probe-$engine.serial"
rm -f "$out"
"$lodge" run --bios "$image" --accel "$engine" --headless --debug-exit --strict-io \
	--serial "file:$out" 2>"$dir/hpet_probe-$engine.log"
status=$?
if [ "$status" -ne 33 ] || ! grep -q '^hpet: ok' "$out"; then
	echo "FAIL: lodge exited with $status (want 33); the guest said:"
	cat "$out" "$dir/hpet_probe-$engine.log"
	exit 1
fi
echo "ok: the guest saw the HPET's capabilities, counter, legacy IRQ8 and level status"
