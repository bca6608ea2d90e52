#!/usr/bin/env bash
# Interoperability of Lodge's VHDs with QEMU (qemu-img, qemu-io) and libvhdi
# (vhdiinfo and its Python bindings, pyvhdi), in both directions:
#   - images Lodge creates and writes (fixed, dynamic, differencing chains)
#     read identically in qemu-img and libvhdi;
#   - images qemu-img creates (fixed, dynamic, with and without force_size)
#     and writes are read and written by Lodge and still read correctly by
#     qemu-img afterwards.
# libvhdi is used through pyvhdi rather than vhdimount, so no FUSE is needed.
# Differencing writes are 4 KiB-aligned: libvhdi misreads partial bitmap
# bytes (reference/vhd-format.md §7, "libvhdi bitmap bug").
#
# usage: interop.sh LODGE DISK_TOOL WORKDIR
set -euo pipefail
LODGE=$1 TOOL=$2 W=$3
PY=/usr/bin/python3

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

command -v qemu-img >/dev/null || skip "qemu-img (Debian package qemu-utils) is not installed"
command -v qemu-io >/dev/null || skip "qemu-io (Debian package qemu-utils) is not installed"
command -v vhdiinfo >/dev/null || skip "vhdiinfo (Debian package libvhdi-utils) is not installed"
$PY -c 'import pyvhdi' 2>/dev/null || skip "pyvhdi (Debian package python3-libvhdi) is not installed"

rm -rf "$W" && mkdir -p "$W" && cd "$W"
trap 'cd /; rm -rf "$W"' EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }

# sha256 of the image's media as libvhdi reads it; parents follow the child.
libvhdi_sha() {
	$PY - "$@" <<'PYEOF'
import hashlib, sys, pyvhdi
files = []
for path in sys.argv[1:]:
    f = pyvhdi.file()
    f.open(path)
    files.append(f)
for child, parent in zip(files, files[1:]):
    child.set_parent(parent)
top = files[0]
size = top.get_media_size()
h = hashlib.sha256()
off = 0
while off < size:
    n = min(1 << 22, size - off)
    h.update(top.read_buffer_at_offset(n, off))
    off += n
print(h.hexdigest())
PYEOF
}

media_size() { vhdiinfo "$1" | sed -n 's/.*Media size.*(\([0-9]*\) bytes).*/\1/p'; }

same_in_qemu() {        # image, reference raw
	qemu-img compare -q -f vpc -F raw "$1" "$2" || fail "qemu-img reads $1 differently from $2"
	qemu-img convert -f vpc -O raw "$1" qflat.raw
	cmp -s qflat.raw "$2" || fail "qemu-img convert of $1 differs from $2"
	rm -f qflat.raw
}

same_in_libvhdi() {     # reference raw, image [parents...]
	local ref=$1; shift
	[ "$(libvhdi_sha "$@")" = "$(sha "$ref")" ] || fail "libvhdi reads $1 differently from $ref"
}

# ---- Lodge -> QEMU, libvhdi ------------------------------------------------

for type in dynamic fixed; do
	step "Lodge creates a $type VHD and writes it; qemu-img and libvhdi read the same"
	"$LODGE" disk create l-$type.vhd --size 16M --type $type
	truncate -s 16M ref-$type.raw
	"$TOOL" mirror l-$type.vhd ref-$type.raw 150 11 512
	same_in_qemu l-$type.vhd ref-$type.raw
	same_in_libvhdi ref-$type.raw l-$type.vhd
	[ "$(media_size l-$type.vhd)" = 16777216 ] || fail "vhdiinfo: wrong media size"
	"$LODGE" disk check l-$type.vhd >/dev/null || fail "lodge disk check l-$type.vhd"
done

step "a size that is not CHS-exact is kept exactly (Hyper-V style)"
"$LODGE" disk create odd.vhd --size 100000K
[ "$(qemu-img info -f vpc --output=json odd.vhd | $PY -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" = 102400000 ] \
	|| fail "qemu-img does not see 102400000 bytes"
[ "$(media_size odd.vhd)" = 102400000 ] || fail "libvhdi does not see 102400000 bytes"

step "lodge disk convert raw -> vhd-dynamic/vhd-fixed reads the same in qemu-img and libvhdi"
"$LODGE" disk convert ref-dynamic.raw c-dyn.vhd --to vhd-dynamic
"$LODGE" disk convert ref-dynamic.raw c-fix.vhd --to vhd-fixed
same_in_qemu c-dyn.vhd ref-dynamic.raw
same_in_qemu c-fix.vhd ref-dynamic.raw
same_in_libvhdi ref-dynamic.raw c-dyn.vhd

step "a differencing chain (base <- mid <- top) reads the same in libvhdi with its parents"
cp ref-dynamic.raw ref-chain.raw
"$LODGE" disk convert ref-dynamic.raw base.vhd --to vhd-dynamic
"$LODGE" disk create mid.vhd --parent base.vhd
"$TOOL" mirror mid.vhd ref-chain.raw 100 12 4096
"$LODGE" disk create top.vhd --parent mid.vhd
"$TOOL" mirror top.vhd ref-chain.raw 100 13 4096
same_in_libvhdi ref-chain.raw top.vhd mid.vhd base.vhd
vhdiinfo top.vhd | grep -q "Parent filename.*mid.vhd" || fail "vhdiinfo: no parent filename"
"$TOOL" dump top.vhd top.raw
cmp -s top.raw ref-chain.raw || fail "Lodge's own view of the chain is wrong"
"$LODGE" disk check top.vhd >/dev/null || fail "lodge disk check top.vhd"

# ---- QEMU -> Lodge -> QEMU --------------------------------------------------

for sub in dynamic fixed dynamic,force_size=on fixed,force_size=on; do
	step "qemu-img creates a VHD ($sub); Lodge reads and writes it; qemu-img and libvhdi agree"
	rm -f q.vhd q.raw l.raw
	qemu-img create -q -f vpc -o subformat=$sub q.vhd 20M
	qemu-io -f vpc -c 'write -P 0xab 1M 3M' -c 'write -P 0x5c 15M 64k' q.vhd >/dev/null
	qemu-img convert -f vpc -O raw q.vhd q.raw
	"$TOOL" dump q.vhd l.raw
	cmp -s l.raw q.raw || fail "Lodge reads qemu's $sub image differently"
	"$TOOL" mirror q.vhd q.raw 150 14 512
	same_in_qemu q.vhd q.raw
	same_in_libvhdi q.raw q.vhd
	"$LODGE" disk check q.vhd >/dev/null || fail "lodge disk check on qemu's $sub image"
done
echo "interop: all passed"
