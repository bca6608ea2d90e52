#!/bin/sh
# ide_boot.sh: boot two tiny guests through SeaBIOS on the PIIX IDE
# controller and check what they report on COM1.
#
#   ide_boot.sh LODGE ENGINE IMAGES
#
#   1. IMAGES/ide-boot.img (images/tiny/ide_boot.asm) as a raw disk, --boot c:
#      SeaBIOS's INT 13h over ATA PIO (CHS and EDD reads, a write), and the
#      written sector must then be in the image file;
#   2. IMAGES/cd-boot.bin (images/tiny/cd_boot.asm) as the El Torito
#      no-emulation image of an ISO built here with xorriso, next to the
#      same disk, --boot d: SeaBIOS boots the CD over ATAPI although a
#      bootable disk is there;
#   3. IMAGES/idedma.elf (images/tiny/idedma.asm), no firmware: the PCI
#      function, READ/WRITE DMA and READ DMA EXT on the disk and ATAPI DMA
#      on the CD, completing on IRQ 14/15, as Linux's ata_piix drives them.
#
# SeaBIOS runs at about a million instructions per second on a KVM that is
# not hardware-backed, so each boot is bounded by progress, not by a short
# timeout: it fails when SeaBIOS says it cannot boot, or after
# LODGE_IDE_BOOT_IDLE seconds (default 120) without a new byte of output
# from the BIOS (--debug debugcon) or the guest.
# Exit status: 0 pass, 1 fail, 77 skip (printed with the reason).
set -u
lodge=$1 engine=$2 images=$3
. "$(dirname "$0")/lib.sh"
guest_skip_unusable "$engine" "ide-boot on $engine"
if ! command -v xorriso >/dev/null; then
	echo "SKIP ide-boot on $engine: xorriso is not installed (scripts/deps.sh installs it)"
	exit 77
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/lodge-ide-boot.XXXXXX")
trap 'rm -rf "$dir"' EXIT
idle_max=${LODGE_IDE_BOOT_IDLE:-120}
fail=0

# boot NAME LODGE_ARGS...: run until the guest leaves; 0 if it passed.
boot() {
	name=$1
	shift
	out="$dir/$name.serial" log="$dir/$name.log"
	: >"$out"
	"$lodge" run --accel "$engine" --mem 64M --headless --debug-exit \
		--serial "file:$out" --debug debugcon "$@" </dev/null 2>"$log" &
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
			echo "FAIL $name on $engine: SeaBIOS could not boot"
			kill "$pid"
		elif [ "$idle" -ge "$idle_max" ]; then
			echo "FAIL $name on $engine: no output for $idle_max s"
			kill "$pid"
		fi
	done
	wait "$pid"
	status=$?
	if [ "$status" -ne 33 ]; then
		echo "FAIL $name on $engine: lodge exited with $status, not 33"
		echo "--- serial:"
		cat "$out" 2>/dev/null
		echo "--- lodge's log (last 40 lines):"
		tail -n 40 "$log"
		fail=1
		return 1
	fi
	return 0
}

# expect NAME LINE: the guest printed LINE.
expect() {
	if ! tr -d '\r' <"$dir/$1.serial" | grep -qxF "$2"; then
		echo "FAIL $1 on $engine: the guest did not print '$2'"
		cat "$dir/$1.serial"
		fail=1
	fi
}

cp "$images/ide-boot.img" "$dir/disk.img"
if boot disk --disk "$dir/disk.img" --boot c; then
	expect disk "ide-boot: stage 2 loaded by CHS from drive 80"
	expect disk "ide-boot: EDD read of 63 sectors ok"
	expect disk "ide-boot: ok"
	# The guest wrote (i & 0xff) ^ 0x5a to LBA 100: it must be in the file.
	got=$(od -An -tx1 -j $((100 * 512)) -N 16 "$dir/disk.img" | tr -d ' \n')
	if [ "$got" != "5a5b58595e5f5c5d5253505156575455" ]; then
		echo "FAIL disk on $engine: LBA 100 of the image holds $got, not what the guest wrote"
		fail=1
	fi
fi

mkdir "$dir/iso"
cp "$images/cd-boot.bin" "$dir/iso/"
if ! xorriso -as mkisofs -quiet -o "$dir/cd.iso" -b cd-boot.bin -no-emul-boot \
	-boot-load-size 4 "$dir/iso" 2>"$dir/xorriso.log"; then
	echo "FAIL: xorriso could not build the ISO"
	cat "$dir/xorriso.log"
	exit 1
fi
if boot cd --disk "$dir/disk.img" --cdrom "$dir/cd.iso" --boot d; then
	expect cd "cd-boot: loaded from drive e0"
	expect cd "cd-boot: primary volume descriptor read ok"
	expect cd "cd-boot: ok"
fi

if boot dma --multiboot "$images/idedma.elf" --disk "$dir/disk.img" --cdrom "$dir/cd.iso"; then
	expect dma "idedma: PCI 00:01.1 8086:7010 class 010180, BAR4 at c000"
	expect dma "idedma: READ DMA of 16 sectors on IRQ 14 ok"
	expect dma "idedma: WRITE DMA and READ DMA EXT ok"
	expect dma "idedma: ATAPI READ(10) by DMA on IRQ 15 ok"
fi

[ $fail -eq 0 ] && echo "PASS ide-boot on $engine: SeaBIOS booted the IDE disk (PIO) and the" \
	"El Torito CD (ATAPI); bus-master DMA with interrupts on both"
exit $fail
