#!/usr/bin/env bash
# The `lodge disk` command line: every subcommand, its output (text and
# JSON), its exit status, and its one-sentence errors; the progress line
# appears only when stderr is a terminal.
#
# usage: cli.sh LODGE DISK_TOOL WORKDIR
set -euo pipefail
LODGE=$1 TOOL=$2 W=$3
PY=/usr/bin/python3
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

rm -rf "$W" && mkdir -p "$W" && cd "$W"
trap 'cd /; rm -rf "$W"' EXIT

# expect STATUS PATTERN CMD...: exit status and a stdout+stderr pattern.
expect() {
	local want=$1 pattern=$2; shift 2
	local out status=0
	out=$("$@" 2>&1) || status=$?
	[ "$status" = "$want" ] || fail "'$*' exited $status, not $want: $out"
	grep -qE -- "$pattern" <<<"$out" || fail "'$*' said '$out', not /$pattern/"
}

step "create: usage errors exit 2, file errors exit 1, files are never overwritten"
expect 2 "needs --size" "$LODGE" disk create a.vhd
expect 2 "'ten' is not a size" "$LODGE" disk create a.vhd --size ten
expect 2 "'sparse' is not dynamic or fixed" "$LODGE" disk create a.vhd --size 1M --type sparse
expect 2 "not a power of two" "$LODGE" disk create a.vhd --size 1M --block-size 3M
expect 1 "a.vhd: .*2040 GiB" "$LODGE" disk create a.vhd --size 2041G
expect 0 "" "$LODGE" disk create a.vhd --size 64M
expect 1 "a.vhd: the file already exists" "$LODGE" disk create a.vhd --size 64M
expect 2 "leave out --size" "$LODGE" disk create b.vhd --parent a.vhd --size 1M
expect 1 "nope.vhd" "$LODGE" disk create b.vhd --parent nope.vhd
expect 0 "" "$LODGE" disk create b.vhd --parent a.vhd
expect 0 "Virtual PC and Virtual Server only know" "$LODGE" disk create c.vhd --size 8M --block-size 64K
expect 2 "not a disk command" "$LODGE" disk frobnicate
expect 0 "lodge disk convert" "$LODGE" disk --help

step "info: text and JSON"
expect 0 "VHD dynamic" "$LODGE" disk info a.vhd
expect 0 "-> a.vhd \(dynamic" "$LODGE" disk info b.vhd
"$LODGE" disk info --json b.vhd | $PY -c '
import json, sys
i = json.load(sys.stdin)
assert i["type"] == "differencing", i
assert i["virtual_size"] == 64 << 20, i
assert i["creator"]["application"] == "win ", i
assert i["parent"]["name"] == "a.vhd", i
assert [l["file"] for l in i["chain"]] == ["b.vhd", "a.vhd"], i["chain"]
assert i["allocated_blocks"] == 0 and i["blocks"] == 32, i
' || fail "info --json"

step "check: clean images pass, each problem is named with its offset"
expect 0 "no problems found" "$LODGE" disk check a.vhd
expect 0 "no problems found" "$LODGE" disk check b.vhd
cp a.vhd bad.vhd
printf '\xde\xad\xbe\xef' | dd of=bad.vhd bs=1 seek=548 conv=notrunc status=none
expect 1 "error: bad.vhd: dynamic header checksum at offset 548: is 0xdeadbeef" \
	"$LODGE" disk check bad.vhd
mv a.vhd a-moved.vhd
expect 1 "parent name and locators at offset 576: the parent \"a.vhd\" was not found" \
	"$LODGE" disk check b.vhd
mv a-moved.vhd a.vhd
truncate -s 100M plain.img
expect 0 "a raw image has no structure to check" "$LODGE" disk check plain.img

step "convert, commit, compact"
truncate -s 64M ref.raw
"$TOOL" mirror b.vhd ref.raw 60 5 512
expect 0 "" "$LODGE" disk convert b.vhd flat.raw --to raw
cmp -s flat.raw ref.raw || fail "convert of a differencing chain to raw"
expect 1 "flat.raw: the file already exists" "$LODGE" disk convert b.vhd flat.raw --to raw
expect 2 "'qcow2' is not raw" "$LODGE" disk convert b.vhd x --to qcow2
for to in vhd-fixed vhd-dynamic; do
	expect 0 "" "$LODGE" disk convert flat.raw out-$to.vhd --to $to
	"$TOOL" dump out-$to.vhd back.raw
	cmp -s back.raw ref.raw || fail "convert to $to"
done
expect 0 "committed into its parent" "$LODGE" disk commit b.vhd
"$TOOL" dump a.vhd back.raw
cmp -s back.raw ref.raw || fail "commit"
expect 1 "a dynamic disk has no parent" "$LODGE" disk commit a.vhd
# Blocks of zeros written into a dynamic disk are dropped by compact.
"$TOOL" write out-vhd-dynamic.vhd $((40 << 20)) $((4 << 20)) 0
dd if=/dev/zero of=ref.raw bs=1M seek=40 count=4 conv=notrunc status=none
expect 0 "compacted, [1-9][0-9]* bytes smaller" "$LODGE" disk compact out-vhd-dynamic.vhd
"$TOOL" dump out-vhd-dynamic.vhd back.raw
cmp -s back.raw ref.raw || fail "compact changed the content"
expect 1 "fixed disk has no blocks" "$LODGE" disk compact out-vhd-fixed.vhd

step "progress only on a terminal"
err=$("$LODGE" disk convert flat.raw quiet.vhd --to vhd-dynamic 2>&1 >/dev/null)
[ -z "$err" ] || fail "convert printed '$err' with stderr not a terminal"
if command -v script >/dev/null; then
	out=$(script -qec "$LODGE disk convert flat.raw tty.vhd --to vhd-dynamic" /dev/null)
	grep -q "converting: 100%" <<<"$out" || fail "no progress line on a terminal: $out"
else
	echo "note: script(1) is missing; the terminal case is not exercised"
fi
echo "cli: all passed"
