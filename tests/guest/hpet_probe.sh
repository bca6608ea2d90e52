#!/bin/sh
# Boots tests/guest/hpet_probe.asm on KVM (which has no in-kernel HPET, so
# this is our model answering MMIO exits and raising IRQ8 through KVM's
# in-kernel 8259) and checks that every step passed.
# Usage: hpet_probe.sh LODGE IMAGE WORKDIR
set -u
lodge=$1 image=$2 dir=$3
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable here"
	exit 77
fi
mkdir -p "$dir"
out="$dir/hpet_probe.serial"
rm -f "$out"
"$lodge" run --bios "$image" --accel kvm --headless --debug-exit --strict-io \
	--serial "file:$out" 2>"$dir/hpet_probe.log"
status=$?
if [ "$status" -ne 33 ] || ! grep -q '^hpet: ok' "$out"; then
	echo "FAIL: lodge exited with $status (want 33); the guest said:"
	cat "$out" "$dir/hpet_probe.log"
	exit 1
fi
echo "ok: the guest saw the HPET's capabilities, counter, legacy IRQ8 and level status"
