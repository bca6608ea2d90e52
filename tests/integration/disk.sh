#!/usr/bin/env bash
# disk.sh: the test hard disk (images/build-disk.sh) boots through SeaBIOS,
# ATA and GRUB into Linux with root on /dev/sda1, looks at the machine from
# inside, reads a line typed on the keyboard, writes a file, waits for the
# ACPI power button (SIGTERM to lodge) and powers off through ACPI (S5):
# lodge exits 0 and the file is in the image afterwards.
# One boot, two CPUs, many checks.
#
#   disk.sh LODGE ENGINE CACHE
#
# The command list goes into a copy of the image as /etc/lodge-run.sh
# (debugfs, no mounting); the guest's file is read back the same way, and
# e2fsck must find the filesystem clean (the guest remounted / read-only).
# Console: SeaBIOS and GRUB, the initramfs switching to /dev/sda1, the disk
# init's marker, then the guest's own findings:
#   dmesg: the ACPI tables FACP, DSDT, APIC, HPET and the PM timer, and the
#          PCI functions 8086:1237 (i440FX), 8086:7000 (PIIX3 ISA),
#          8086:7010 (PIIX3 IDE), 8086:7113 (PIIX4 ACPI)
#   cpus: 2 online, 2 in cpuinfo
#   acpi_pm among the clocksources
#   keyboard: the line --type-at typed on the PS/2 keyboard, read from the
#             VT (tty1) it goes to, not from the serial console
#   the known file's hash read from the disk
#   power button: lodge's SIGTERM reaches Linux's ACPI button driver as
#             KEY_POWER on its event device; the guest then powers off
set -u
[ $# = 3 ] || { echo "usage: $0 LODGE ENGINE CACHE" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init "disk boot" "$1" "$2" "$3"
it_need_media lodge-test-disk.img known.bin
it_need_option --disk "the IDE controller (ATA disk)"

# The ext4 partition starts at sector 2048 (build-disk.sh).
part="$it_dir/disk.img?offset=1048576"
typed="typed on the keyboard"
cat >"$it_dir/run.sh" <<'EOF'
dmesg | grep -E 'ACPI: (FACP|DSDT|APIC|HPET) |ACPI: PM-Timer|\[8086:' | sed 's/^/dmesg: /'
echo "cpus: $(nproc) online, $(grep -c ^processor /proc/cpuinfo) in cpuinfo"
echo "clocksources: $(cat /sys/devices/system/clocksource/clocksource0/available_clocksource)"
sha256sum /lodge/known.bin
exec 3</dev/tty1
echo "lodge-disk: reading a line from tty1"
if read -r -t 120 line <&3; then echo "keyboard: $line"; else echo "keyboard: nothing within 120 s"; fi
echo "written by Linux $(uname -r) on $(cat /sys/class/block/sda/device/model)" >/root/from-guest.txt
# The ACPI power button's event device (the button and evdev modules).
ev=
for d in /sys/class/input/input*; do
	[ "$(cat "$d/name")" = "Power Button" ] || continue
	for e in "$d"/event*; do [ -e "$e" ] && ev=/dev/input/${e##*/}; done
done
echo "lodge-disk: waiting for the power button on ${ev:-no device}"
# struct input_event (x86-64): 16 bytes of time, then type, code (u16) and
# value (s32): EV_KEY (1), KEY_POWER (116), pressed (1).
while [ -n "$ev" ]; do
	set -- $(dd if="$ev" bs=24 count=1 2>/dev/null | od -An -v -tu2)
	[ $# -ge 11 ] || break
	if [ "$9" = 1 ] && [ "${10}" = 116 ] && [ "${11}" = 1 ]; then
		echo "power button: pressed"
		break
	fi
done
EOF
cp "$cache/lodge-test-disk.img" "$it_dir/disk.img"
debugfs -w -R "write $it_dir/run.sh /etc/lodge-run.sh" "$part" >/dev/null 2>&1 ||
	it_error "debugfs could not write /etc/lodge-run.sh into the image"

it_button_at="lodge-disk: waiting for the power button on /dev/input/event"
it_boot 0 --mem 256M --cpus 2 --disk "$it_dir/disk.img" --boot c \
	--type-at "reading a line from tty1:$typed\\n"

kver=$(cut -d' ' -f1 "$cache/linux.stamp")
it_expect "SeaBIOS (version" "Booting from Hard Disk" "lodge-grub: loading Linux from hd0,msdos1" \
	"lodge-initramfs: switching to /dev/sda1 (ro)" \
	"lodge-disk: init started on Linux $kver, root /dev/sda1 ext4 rw" \
	"lodge-disk: running /etc/lodge-run.sh" \
	"cpus: 2 online, 2 in cpuinfo" \
	"$(cd "$cache" && sha256sum known.bin | sed 's| known.bin| /lodge/known.bin|')" \
	"keyboard: $typed" "power button: pressed" \
	"lodge-disk: done, status 0"
it_expect_re "^dmesg: .*ACPI: FACP " "^dmesg: .*ACPI: DSDT " "^dmesg: .*ACPI: APIC " \
	"^dmesg: .*ACPI: HPET " "^dmesg: .*ACPI: PM-Timer IO Port: 0x" \
	"^dmesg: .*pci 0000:00:00.0: \[8086:1237\]" "^dmesg: .*pci 0000:00:01.0: \[8086:7000\]" \
	"^dmesg: .*pci 0000:00:01.1: \[8086:7010\]" "^dmesg: .*pci 0000:00:01.3: \[8086:7113\]" \
	"^clocksources: .*acpi_pm"
it_expect_log "the guest entered S5 (soft off)"

written=$(debugfs -R "cat /root/from-guest.txt" "$part" 2>/dev/null)
it_check "the image has no /root/from-guest.txt, or the wrong text: '$written'" \
	grep -qE "^written by Linux $kver on " <<<"$written"
it_fsck "$part" "the disk's"
it_finish
