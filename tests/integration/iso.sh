#!/usr/bin/env bash
# iso.sh: the test CD (images/build-iso.sh) boots through SeaBIOS, the
# ATAPI drive and El Torito into isolinux and Linux, which finds the drive
# itself, mounts the CD and hashes a file on it; then powers off through
# ACPI (S5), so lodge exits 0.
#
#   iso.sh LODGE ENGINE CACHE
#
# Console: SeaBIOS's banner and "Booting from DVD/CD" (its screen mirrored to
# COM1), isolinux's banner and SAY line, the initramfs marker, dmesg lines
# naming ata_piix and the CD-ROM sr0, the CD's label, the host's hash of
# cache/known.bin for /mnt/lodge/known.bin, "done, status 0".
set -u
[ $# = 3 ] || { echo "usage: $0 LODGE ENGINE CACHE" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init "CD boot" "$1" "$2" "$3"
it_need_media lodge-test.iso known.bin
it_need_option --cdrom "the IDE controller (ATAPI CD-ROM)"

it_boot 0 --mem 256M --cdrom "$cache/lodge-test.iso" --boot d

it_expect "SeaBIOS (version" "Booting from DVD/CD" \
	"lodge-isolinux: booting the test Linux from the CD" \
	"lodge-initramfs: init started on Linux $(cut -d' ' -f1 "$cache/linux.stamp")" \
	"cd: lodge-test-cd" \
	"cd: $(cd "$cache" && sha256sum known.bin | sed 's| known.bin| /mnt/lodge/known.bin|')" \
	"lodge-initramfs: done, status 0"
it_expect_log "the guest entered S5 (soft off)"
it_expect_re "^ISOLINUX [0-9.]+ " "^dmesg: .*scsi host[0-9]+: ata_piix" \
	"^dmesg: .*Attached scsi CD-ROM sr0"
it_finish
