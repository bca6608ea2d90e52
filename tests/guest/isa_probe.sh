#!/bin/sh
# Boots images/tiny/isa_probe.asm on ENGINE with 512 MiB and two vCPUs, types a
# line into it with --type-at, and checks what the guest read: the board's
# CMOS bytes through the RTC, and the typed keys as set-1 scan codes from the
# i8042 (input hub -> PS/2 keyboard -> controller translation -> port 0x60).
# Usage: isa_probe.sh LODGE ENGINE IMAGE WORKDIR
set -u
lodge=$1 engine=$2 image=$3 dir=$4
. "$(dirname "$0")/lib.sh"
guest_skip_unusable "$engine" "isa-probe on $engine"
mkdir -p "$dir"
out="$dir/isa_probe-$engine.serial"
rm -f "$out"
"$lodge" run --bios "$image" --accel "$engine" --mem 512M --cpus 2 --headless --debug-exit \
	--serial "file:$out" --type-at 'READY:ls -L\n' 2>"$dir/isa_probe-$engine.log"
status=$?
if [ "$status" -ne 33 ]; then
	echo "FAIL: lodge exited with $status, not 33 (the guest's debug-exit)"
	cat "$dir/isa_probe-$engine.log"
	exit 1
fi
fail=0
# CMOS byte N (0x10-0x5f) as the guest printed it.
cmos() {
	sed -n 's/^cmos: //p' "$out" | tr -d '\r' | awk -v i=$(($1 - 0x10 + 1)) '{ print $i }'
}
check() {
	got=$(cmos "$1")
	if [ "$got" != "$2" ]; then
		printf 'FAIL: CMOS %#x is %s, want %s (%s)\n' "$1" "$got" "$2" "$3"
		fail=1
	fi
}
check 0x10 00 "no diskette drives"
check 0x14 06 "equipment: FPU, mouse, VGA"
check 0x15 80 "640 KiB base memory"
check 0x16 02 "640 KiB base memory"
check 0x17 FF "extended memory, capped at 65535 KiB"
check 0x18 FF "extended memory, capped at 65535 KiB"
check 0x30 FF "extended memory again"
check 0x31 FF "extended memory again"
check 0x34 00 "496 MiB above 16 MiB in 64 KiB units (0x1f00)"
check 0x35 1F "496 MiB above 16 MiB in 64 KiB units (0x1f00)"
check 0x5b 00 "nothing above 4 GiB"
check 0x5f 01 "two CPUs"
want="26 A6 1F 9F 39 B9 0C 8C 2A 26 A6 AA 1C 9C "
got=$(sed -n '/kbd: READY/{n;p;}' "$out")
if [ "$got" != "$want" ]; then
	echo "FAIL: the guest read the keys '$got', want '$want'"
	fail=1
fi
[ $fail -eq 0 ] && echo "ok: CMOS as the board set it; the guest read $got"
exit $fail
