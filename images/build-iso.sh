#!/usr/bin/env bash
# build-iso.sh: the test CD, cache/lodge-test.iso (git-ignored): an El
# Torito ISO 9660 image (no emulation, with Rock Ridge and Joliet names)
# that boots Debian's isolinux, which starts the test Linux (build-linux.sh's
# kernel and initramfs) with the console on COM1 (isolinux itself writes to
# the screen, which SeaBIOS mirrors to COM1 in headless runs; see
# images/iso/isolinux.cfg for why not both):
#
#   /isolinux/isolinux.bin, ldlinux.c32, isolinux.cfg   (images/iso/)
#   /boot/vmlinuz, /boot/initrd.gz                        (build-linux.sh)
#   /lodge/known.bin, /lodge/label                        (what the guest checks)
#
# The default label boots into images/iso/check.sh: the guest finds the
# drive (ata_piix, sr_mod), mounts the CD (iso9660) and prints the known
# file's sha256, which the integration test compares with the host's.
# Re-running is instant when nothing changed. Needs xorriso, isolinux and
# syslinux-common (scripts/deps.sh).
set -euo pipefail

me=build-iso
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
isolinux=/usr/lib/ISOLINUX/isolinux.bin
ldlinux=/usr/lib/syslinux/modules/bios/ldlinux.c32
out=$cache/lodge-test.iso

need_tools xorriso
need_file "$isolinux" isolinux
need_file "$ldlinux" syslinux-common
"$here/build-linux.sh"

build_begin iso "$out" "$0" "$here/lib.sh" "$here/iso/isolinux.cfg" "$here/iso/check.sh" \
	"$here/linux-cmdline.sh" "$cache/vmlinuz" "$cache/initramfs.cpio.gz" "$cache/known.bin" \
	"$isolinux" "$ldlinux"

say "staging the CD's files"
cd=$work/cd
mkdir -p "$cd"/{isolinux,boot,lodge}
cp "$isolinux" "$ldlinux" "$cd/isolinux/"
check=$("$here/linux-cmdline.sh" <"$here/iso/check.sh")
sed "s|@CHECK@|$check|" "$here/iso/isolinux.cfg" >"$cd/isolinux/isolinux.cfg"
cp -L "$cache/vmlinuz" "$cd/boot/vmlinuz"
cp -L "$cache/initramfs.cpio.gz" "$cd/boot/initrd.gz"
cp "$cache/known.bin" "$cd/lodge/known.bin"
echo "lodge-test-cd, Linux $(cut -d' ' -f1 "$cache/linux.stamp")" >"$cd/lodge/label"

say "writing the El Torito image with xorriso"
xorriso -as mkisofs -quiet -o "$work/cd.iso" -R -J -V LODGE_TEST \
	-b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table "$cd" 2>"$work/xorriso.log" ||
	die "xorriso failed: $(tail -n 3 "$work/xorriso.log")"
build_end iso "$work/cd.iso" "$out"
say "done: $out ($(kib "$out"))"
