#!/usr/bin/env bash
# build-linux.sh: the test and demo Linux guest, made from Debian packages
# only, into images/cache/ (git-ignored):
#
#   cache/vmlinuz            Debian 12's stock kernel (the linux-image-6.1.0-*
#                            package linux-image-amd64 depends on today)
#   cache/initramfs.cpio.gz  busybox-static + images/linux/init + the modules
#                            listed in images/linux/modules and their deps
#
# Nothing is installed: the kernel .deb is fetched with `apt-get download`
# and unpacked with `dpkg-deb -x`. Re-running is instant when nothing
# changed (the kernel version and the inputs' checksums are in a stamp file).
# Needs busybox-static, cpio and kmod (scripts/deps.sh installs them).
# LODGE_IMAGE_CACHE overrides the cache folder.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${LODGE_IMAGE_CACHE:-$here/cache}
busybox=/bin/busybox

say() { echo "build-linux: $*"; }
die() { echo "build-linux: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb cpio gzip depmod modprobe sha256sum; do
	command -v "$tool" >/dev/null || die "$tool is missing; run scripts/deps.sh"
done
[ -x "$busybox" ] || die "$busybox is missing; run scripts/deps.sh (package busybox-static)"

mkdir -p "$cache"
inputs=$(cat "$0" "$here/linux/init" "$here/linux/modules" | sha256sum | cut -d' ' -f1)

# Up to date: built from these inputs, and apt's package lists have not
# changed since (only they can point linux-image-amd64 at a new kernel).
if [ -f "$cache/linux.stamp" ] && [ "$(cut -d' ' -f2 "$cache/linux.stamp")" = "$inputs" ] &&
   [ -f "$cache/vmlinuz" ] && [ -f "$cache/initramfs.cpio.gz" ] &&
   [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -newer "$cache/linux.stamp" 2>/dev/null | head -n 1)" ]; then
	say "up to date (Linux $(cut -d' ' -f1 "$cache/linux.stamp")) in $cache"
	exit 0
fi

# The kernel package linux-image-amd64 points at now, e.g. linux-image-6.1.0-26-amd64.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || die "apt does not know linux-image-amd64; run apt-get update"
kver=${pkg#linux-image-}
stamp="$kver $inputs"
if [ -f "$cache/linux.stamp" ] && [ "$(cat "$cache/linux.stamp")" = "$stamp" ] &&
   [ -f "$cache/vmlinuz" ] && [ -f "$cache/initramfs.cpio.gz" ]; then
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

# 3. The initramfs: busybox, /init, the modules and what they depend on.
say "assembling the initramfs"
root=$(mktemp -d "$cache/initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,lib/modules/"$kver"}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$here/linux/init" "$root/init"
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
say "done: $cache/vmlinuz ($(du -k "$cache/vmlinuz-$kver" | cut -f1) KiB)," \
	"$cache/initramfs.cpio.gz ($(du -k "$cache/initramfs-$kver.cpio.gz" | cut -f1) KiB)"
