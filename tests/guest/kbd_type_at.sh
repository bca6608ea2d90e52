#!/bin/sh
# Types a line into a tiny guest with --type-at and checks that the guest
# read the right scan codes from the i8042 (set 1, as the controller
# translates them): the whole path input hub -> PS/2 keyboard -> i8042 ->
# port 0x60. Usage: kbd_type_at.sh LODGE IMAGE WORKDIR
set -u
lodge=$1 image=$2 dir=$3
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable here (the software CPU will run this too)"
	exit 77
fi
mkdir -p "$dir"
out="$dir/kbd_type_at.serial"
rm -f "$out"
"$lodge" run --bios "$image" --accel kvm --headless --debug-exit \
	--serial "file:$out" --type-at 'READY:ls -L\n' 2>"$dir/kbd_type_at.log"
status=$?
if [ "$status" -ne 33 ]; then
	echo "FAIL: lodge exited with $status, not 33 (the guest's debug-exit)"
	cat "$dir/kbd_type_at.log"
	exit 1
fi
want="26 A6 1F 9F 39 B9 0C 8C 2A 26 A6 AA 1C 9C "
got=$(tail -n 1 "$out")
if [ "$got" != "$want" ]; then
	echo "FAIL: the guest read '$got', want '$want'"
	exit 1
fi
echo "ok: the guest read $got"
