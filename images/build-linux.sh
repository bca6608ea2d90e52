#!/usr/bin/env bash
# build-linux.sh: the test and demo Linux guest, made from Debian packages
# only, into images/cache/ (git-ignored):
#
#   cache/vmlinuz            Debian 12's stock kernel (the linux-image-6.1.0-*
#                            package linux-image-amd64 depends on today)
#   cache/initramfs.cpio.gz  busybox-static + images/linux/init and lodge-run
#                            + the modules listed in images/linux/modules and
#                            their deps + lodge-cpu + /lodge/known.bin
#   cache/lodge-cpu          images/linux/lodge-cpu.c, static: the guests' CPU
#                            workload, and the host's reference for its output
#   cache/known.bin          1 MiB from `lodge-cpu bytes 7`: the file whose
#                            sha256 the tests check on every medium
#
# Nothing is installed: the kernel .deb is fetched with `apt-get download`
# and unpacked with `dpkg-deb -x`. Re-running is instant when nothing
# changed (the kernel version and the inputs' checksums are in a stamp file).
# Needs busybox-static, cpio, kmod, gcc and libc6-dev (scripts/deps.sh).
# LODGE_IMAGE_CACHE overrides the cache folder.
set -euo pipefail

me=build-linux
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
busybox=/bin/busybox

need_tools apt-get apt-cache dpkg-deb cpio gzip depmod modprobe sha256sum gcc
need_file "$busybox" busybox-static

mkdir -p "$cache"
inputs=$(inputs_hash "$0" "$here/lib.sh" "$here/linux/init" "$here/linux/lodge-run" "$busybox" \
	"$here/linux/modules" "$here/linux/lodge-cpu.c")
outputs=("$cache/vmlinuz" "$cache/initramfs.cpio.gz" "$cache/lodge-cpu" "$cache/known.bin")

# Up to date: built from these inputs, and apt's package lists have not
# changed since (only they can point linux-image-amd64 at a new kernel).
old_kver=$(cut -s -d' ' -f1 "$cache/linux.stamp" 2>/dev/null || true)
if [ -n "$old_kver" ] && fresh "$cache/linux.stamp" "$old_kver $inputs" "${outputs[@]}" &&
   [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -newer "$cache/linux.stamp" 2>/dev/null | head -n 1)" ]; then
	say "up to date (Linux $old_kver) in $cache"
	exit 0
fi

# The kernel package linux-image-amd64 points at now, e.g. linux-image-6.1.0-26-amd64.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || die "apt does not know linux-image-amd64; run apt-get update"
kver=${pkg#linux-image-}
stamp="$kver $inputs"
if fresh "$cache/linux.stamp" "$stamp" "${outputs[@]}"; then
	touch "$cache/linux.stamp"
	say "up to date (Linux $kver) in $cache"
	exit 0
fi

# 1. The kernel package, downloaded once per version; older ones go.
for old in "$cache"/linux-image-*.deb "$cache"/linux-[0-9]* "$cache"/vmlinuz-* "$cache"/initramfs-*; do
	case "$old" in
	*"$kver"*) ;;
	*) [ -e "$old" ] && rm -rf "$old" ;;
	esac
done
deb=$(ls "$cache"/"${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
if [ -z "$deb" ]; then
	say "downloading $pkg with apt-get (about 70 MB)"
	sandbox=()
	[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
	(cd "$cache" && apt-get download -q "${sandbox[@]}" "$pkg") ||
		die "apt-get download $pkg failed"
	deb=$(ls "$cache"/"${pkg}"_*.deb | head -n 1)
fi

# 2. Unpacked, not installed, with modules.dep for the whole tree.
tree=$cache/linux-$kver
if [ ! -f "$tree/lib/modules/$kver/modules.dep" ]; then
	say "unpacking $(basename "$deb")"
	rm -rf "$tree"
	dpkg-deb -x "$deb" "$tree"
	depmod -b "$tree" "$kver"
fi
[ -f "$tree/boot/vmlinuz-$kver" ] || die "$deb has no boot/vmlinuz-$kver"

# 3. The CPU workload, and the known file made with it.
say "compiling lodge-cpu (gcc -static -O2)"
gcc -static -O2 -Wall -Wextra -o "$cache/lodge-cpu.new" "$here/linux/lodge-cpu.c"
mv "$cache/lodge-cpu.new" "$cache/lodge-cpu"
"$cache/lodge-cpu" bytes 7 1048576 >"$cache/known.bin"

# 4. The initramfs: busybox, /init, the modules and what they depend on.
say "assembling the initramfs"
root=$(mktemp -d "$cache/initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,mnt,lodge,lib/modules/"$kver"}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$here/linux/init" "$root/init"
install -m 0755 "$here/linux/lodge-run" "$cache/lodge-cpu" "$root/bin/"
cp "$cache/known.bin" "$root/lodge/known.bin"
grep -Ev '^[[:space:]]*(#|$)' "$here/linux/modules" >"$root/etc/lodge-modules"

count=0
for m in $(cat "$root/etc/lodge-modules"); do
	deps=$(modprobe -d "$tree" -S "$kver" --show-depends "$m" 2>/dev/null) ||
		die "module $m is not in $pkg (images/linux/modules)"
	# Lines are "insmod /path/to/x.ko [params]" or "builtin x".
	while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		rel=${path#"$tree"/lib/modules/"$kver"/}
		if [ ! -f "$root/lib/modules/$kver/$rel" ]; then
			mkdir -p "$(dirname "$root/lib/modules/$kver/$rel")"
			cp "$path" "$root/lib/modules/$kver/$rel"
			count=$((count + 1))
		fi
	done <<<"$deps"
done
cp "$tree/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$kver/"
depmod -b "$root" "$kver"
say "$count modules for: $(tr '\n' ' ' <"$root/etc/lodge-modules")"

(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner 0:0 --quiet) | gzip -9 >"$cache/initramfs-$kver.cpio.gz"
cp "$tree/boot/vmlinuz-$kver" "$cache/vmlinuz-$kver"
ln -sfn "vmlinuz-$kver" "$cache/vmlinuz"
ln -sfn "initramfs-$kver.cpio.gz" "$cache/initramfs.cpio.gz"
echo "$stamp" >"$cache/linux.stamp"
say "done: $cache/vmlinuz ($(kib "$cache/vmlinuz")), $cache/initramfs.cpio.gz ($(kib "$cache/initramfs.cpio.gz"))"
