#!/usr/bin/env bash
# build-disk.sh: the test hard disk, cache/lodge-test-disk.img (git-ignored):
# a raw 64 MiB image with an MBR partition table, one bootable ext4
# partition (sda1, from sector 2048) and GRUB in the MBR and the gap before
# the partition. Booted by SeaBIOS it runs:
#
#   MBR (GRUB boot.img) -> core.img (sectors 1..) -> /boot/grub/grub.cfg
#   -> /boot/vmlinuz + /boot/initramfs.cpio.gz (build-linux.sh's, which
#   loads ata_piix, sd_mod and ext4 and switches to root=/dev/sda1)
#   -> /sbin/init (images/disk/init) -> lodge-run, as in the initramfs
#
# The root filesystem is the initramfs's contents (busybox, the modules,
# lodge-run, lodge-cpu, /lodge/known.bin) plus /sbin/init and /boot. Tests
# give it a command list by writing /etc/lodge-run.sh into a copy of the
# image with debugfs, and read back what the guest wrote the same way.
#
# GRUB rather than extlinux: extlinux installs only into a mounted
# filesystem, and GRUB needs nothing mounted. grub-mkimage makes core.img
# with the modules it needs built in (biosdisk, part_msdos, ext2, normal,
# linux, serial...), its sector list already filled in; boot.img's first 440
# bytes go into the MBR (the partition table stays) and core.img right after
# it, which is what grub-install does on a BIOS/MBR disk. It also reads the
# kernel through INT 13h, so the disk boot exercises SeaBIOS's disk services.
#
# No root, no loop devices, no mounts: sfdisk writes the partition table
# into the file, mke2fs -d builds the filesystem from a folder straight at
# the partition's offset. Re-running is instant when nothing changed.
# Needs fdisk, e2fsprogs, grub-pc-bin and cpio (scripts/deps.sh).
set -euo pipefail

me=build-disk
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
grub=/usr/lib/grub/i386-pc
disk_mib=64
part_start=2048 # sectors: 1 MiB, the usual alignment; GRUB's core.img lives before it
out=$cache/lodge-test-disk.img

need_tools sfdisk mke2fs e2fsck grub-mkimage cpio gzip dd truncate
need_file "$grub/boot.img" grub-pc-bin
"$here/build-linux.sh"

build_begin disk "$out" "$0" "$here/lib.sh" "$here/disk/init" "$here/disk/grub.cfg" \
	"$cache/vmlinuz" "$cache/initramfs.cpio.gz" "$grub/boot.img" "$grub/kernel.img"

say "assembling the root filesystem"
root=$work/root
mkdir "$root"
(cd "$root" && gzip -dc "$cache/initramfs.cpio.gz" | cpio -id --quiet --no-absolute-filenames)
rm "$root/init"
mkdir -p "$root"/{sbin,boot/grub,root}
install -m 0755 "$here/disk/init" "$root/sbin/init"
cp -L "$cache/vmlinuz" "$cache/initramfs.cpio.gz" "$root/boot/"
cp "$here/disk/grub.cfg" "$root/boot/grub/grub.cfg"

say "partitioning a $disk_mib MiB image"
img=$work/disk.img
truncate -s "${disk_mib}M" "$img"
printf 'label: dos\nlabel-id: 0x4c4f4447\nstart=%d, type=83, bootable\n' "$part_start" |
	sfdisk --quiet "$img"

say "making the ext4 filesystem on sda1 from the folder"
part_kib=$(((disk_mib * 2048 - part_start) / 2))
mke2fs -q -F -t ext4 -L lodge-root -d "$root" \
	-E "offset=$((part_start * 512)),root_owner=0:0" "$img" "${part_kib}k"
e2fsck -fn "$img?offset=$((part_start * 512))" >"$work/fsck.log" 2>&1 ||
	die "e2fsck finds errors in the new filesystem: $(tail -n 3 "$work/fsck.log")"

say "installing GRUB (boot.img in the MBR, core.img in the gap)"
grub-mkimage -O i386-pc -o "$work/core.img" -p '(hd0,msdos1)/boot/grub' \
	biosdisk part_msdos ext2 normal linux boot serial terminal echo
core_sectors=$((($(stat -c %s "$work/core.img") + 511) / 512))
[ "$core_sectors" -lt "$part_start" ] ||
	die "core.img ($core_sectors sectors) does not fit before the partition"
dd if="$grub/boot.img" of="$img" bs=440 count=1 conv=notrunc status=none
dd if="$work/core.img" of="$img" bs=512 seek=1 conv=notrunc status=none

build_end disk "$img" "$out"
say "done: $out ($disk_mib MiB, $(du -k "$out" | cut -f1) KiB used; GRUB core.img $core_sectors sectors)"
