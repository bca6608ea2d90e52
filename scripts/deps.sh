#!/usr/bin/env bash
# Installs every Debian package Lodge needs to build, test and run its demo.
# Idempotent: it asks dpkg what is missing and runs `apt-get update` at most once,
# only when something has to be installed. Called by `make demo` and `make check`.
set -euo pipefail

# What each group is for, so a later reader knows what can go.
build=(cmake make gcc nasm pkg-config)
libs=(libuv1-dev libinih-dev libzydis-dev libcmocka-dev libsdl2-dev libslirp-dev
      libcjson-dev libpng-dev zlib1g-dev)
firmware=(seabios ipxe-qemu)
# The test/demo Linux guest and the test CD and disk are assembled from Debian
# packages (images/build-linux.sh, build-iso.sh, build-disk.sh): busybox, the
# kernel's modules, a static workload (gcc, libc6-dev), isolinux on an ISO
# (xorriso), GRUB on an MBR disk with ext4 (fdisk's sfdisk, e2fsprogs), all
# without root or mounts.
guest=(busybox-static cpio xz-utils zstd kmod libc6-dev isolinux syslinux-common xorriso
       grub-pc-bin fdisk e2fsprogs)
# Peers used by interop tests and benchmarks (qemu-img, vhdiinfo and pyvhdi for
# libvhdi, qemu-system-x86_64); script(1) gives the disk tests a terminal.
peers=(qemu-utils qemu-system-x86 libvhdi-utils python3-libvhdi bsdutils)
# Fuzz targets are built with clang's libFuzzer.
fuzz=(clang libclang-rt-14-dev)

want=("${build[@]}" "${libs[@]}" "${firmware[@]}" "${guest[@]}" "${peers[@]}" "${fuzz[@]}")
if [ "${LODGE_DEPS_EXTRA:-}" != "" ]; then
	# shellcheck disable=SC2206
	want+=(${LODGE_DEPS_EXTRA})
fi

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null; then sudo=sudo; else
		echo "deps: these packages are missing and I am not root: ${missing[*]}" >&2
		exit 1
	fi
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
