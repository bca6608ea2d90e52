#!/bin/sh
# Boots two tiny guests through SeaBIOS on KVM and the PIIX IDE controller:
#   1. tests/guest/ide_boot.asm as a raw disk (--disk, --boot c): SeaBIOS
#      INT 13h over ATA PIO (reads, a CHS read, a write that must reach the
#      image file);
#   2. tests/guest/cd_boot.asm as an El Torito no-emulation image on an ISO
#      built here with xorriso, next to the same disk (--cdrom, --boot d):
#      SeaBIOS boots the CD over ATAPI although a bootable disk is there.
# The guests report on COM1 and leave through the debug-exit port.
#
# SeaBIOS runs at about a million instructions per second on this host's
# /dev/kvm, so a run is bounded by progress, not by a short timeout: a run
# fails when SeaBIOS says it cannot boot, or after 120 s without a new byte
# of output from the BIOS or the guest.
# Usage: ide_boot.sh LODGE DISK_IMAGE CD_BOOT_IMAGE WORKDIR
set -u
lodge=$1 disk_src=$2 cd_boot=$3 dir=$4
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable here"
	exit 77
fi
if ! command -v xorriso >/dev/null; then
	echo "SKIP: xorriso is not installed (scripts/deps.sh installs it)"
	exit 77
fi
rm -rf "$dir"
mkdir -p "$dir/iso"
fail=0

# run NAME WANT_STATUS LODGE_ARGS...: boot, wait for the guest's verdict.
run() {
	name=$1 want=$2
	shift 2
	out="$dir/$name.serial" log="$dir/$name.log"
	"$lodge" run --accel kvm --mem 64M --headless --debug-exit --serial "file:$out" \
		--debug debugcon "$@" 2>"$log" &
	pid=$!
	last=-1 idle=0
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		size=$(cat "$out" "$log" 2>/dev/null | wc -c)
		if [ "$size" -ne "$last" ]; then
			last=$size idle=0
		else
			idle=$((idle + 1))
		fi
		if grep -q -e "No bootable device" -e "Boot failed" "$log" 2>/dev/null; then
			echo "FAIL: $name: SeaBIOS could not boot"
			kill "$pid"
		elif [ "$idle" -ge 120 ]; then
			echo "FAIL: $name: no output for 120 s"
			kill "$pid"
		fi
	done
	wait "$pid"
	status=$?
	if [ "$status" -ne "$want" ]; then
		echo "FAIL: $name: lodge exited with $status, not $want"
		echo "--- serial:"
		cat "$out" 2>/dev/null
		echo "--- log (last 40 lines):"
		tail -n 40 "$log"
		fail=1
		return 1
	fi
	return 0
}

expect() {
	if ! tr -d '\r' <"$dir/$1.serial" | grep -qx "$2"; then
		echo "FAIL: $1: the guest did not print '$2'"
		cat "$dir/$1.serial"
		fail=1
	fi
}

cp "$disk_src" "$dir/disk.img"
if run disk 67 --disk "$dir/disk.img" --boot c; then
	expect disk "ide-boot: mbr dl=80"
	expect disk "ide-boot: ok"
	# The guest wrote (i & 0xff) ^ 0x5a to LBA 100: it must be in the file.
	got=$(od -An -tx1 -j $((100 * 512)) -N 16 "$dir/disk.img" | tr -d ' \n')
	if [ "$got" != "5a5b58595e5f5c5d5253505156575455" ]; then
		echo "FAIL: disk: LBA 100 of the image holds $got, not what the guest wrote"
		fail=1
	fi
fi

cp "$cd_boot" "$dir/iso/boot.bin"
if ! xorriso -as mkisofs -quiet -o "$dir/cd.iso" -b boot.bin -no-emul-boot \
	-boot-load-size 4 "$dir/iso" 2>"$dir/xorriso.log"; then
	echo "FAIL: xorriso could not build the ISO"
	cat "$dir/xorriso.log"
	exit 1
fi
if run cd 69 --disk "$dir/disk.img" --cdrom "$dir/cd.iso" --boot d; then
	expect cd "cd-boot: loaded dl=E0"
	expect cd "cd-boot: ok"
fi

[ $fail -eq 0 ] && echo "ok: SeaBIOS booted the IDE disk (PIO) and the El Torito CD (ATAPI)"
exit $fail
