#!/usr/bin/env bash
# Undo disks through `lodge run`: the VM lifecycle opens NAME.vud over the
# disk at power-on and commits, discards or keeps it at power-off; a SIGKILL
# during a session leaves the disk untouched and the .vud usable. Verified by
# the base disk's hash and by the guest's view read through the block layer.
#
# The guest is a 64 KiB firmware image that exits at once through the test
# exit device (or spins, for the kill test), on the software CPU, which every
# host has. Its "changes" are put into the undo disk the way a previous, kept
# session would have left them; tests/integration/undo.sh has a real guest
# write through IDE.
#
# usage: undo_run.sh LODGE DISK_TOOL WORKDIR
set -euo pipefail
LODGE=$1 TOOL=$2 W=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

rm -rf "$W" && mkdir -p "$W" && cd "$W"
trap 'cd /; rm -rf "$W"' EXIT

# Reset vector at the end of the image: "mov al,0; out 0xf4,al; hlt" or "jmp $".
rom() {
	/usr/bin/python3 -c '
import sys
rom = bytearray(b"\xf4" * 65536)
code = bytes.fromhex(sys.argv[2])
rom[0xfff0:0xfff0 + len(code)] = code
open(sys.argv[1], "wb").write(rom)' "$1" "$2"
}
rom exit.rom b000e6f4f4
rom spin.rom ebfe

run() {     # run ON_EXIT: boot the exiting guest with an undo disk
	"$LODGE" run --accel emu --bios exit.rom --debug-exit --serial none --headless \
		--disk base.vhd --undo ${1:+--on-exit $1} </dev/null >run.log 2>&1 || true
	grep -q "the guest asked to exit" run.log || { cat run.log; fail "the guest did not run"; }
}
hash() { sha256sum "$1" | cut -d' ' -f1; }
view() { "$TOOL" dump "$1" view.raw && hash view.raw; }
changes() {   # a kept undo disk holding a session's writes
	"$LODGE" disk create base.vud --parent base.vhd >/dev/null
	"$TOOL" write base.vud $((3 << 20)) $((1 << 20)) "$1"
	"$TOOL" write base.vud $((17 << 20)) 8192 "$(( $1 + 1 ))"
}

"$LODGE" disk create base.vhd --size 32M >/dev/null
"$TOOL" write base.vhd 0 $((4 << 20)) 1
H0=$(hash base.vhd)
V0=$(view base.vhd)

step "a session that changes nothing leaves no undo disk and the disk as it was"
run keep
[ ! -e base.vud ] || fail "an empty undo disk was left behind"
[ "$(hash base.vhd)" = "$H0" ] || fail "the disk changed"

step "keep: the next start continues the undo disk; the disk is untouched"
changes 7
V1=$(view base.vud)
[ "$V1" != "$V0" ] || fail "the undo disk shows no change"
run keep
grep -q "continuing the kept undo disk" run.log || fail "the kept undo disk was not continued"
[ -e base.vud ] || fail "keep removed the undo disk"
[ "$(view base.vud)" = "$V1" ] || fail "the guest's view changed across keep"
[ "$(hash base.vhd)" = "$H0" ] || fail "keep changed the disk"

step "no terminal and no --on-exit: keep, and say so"
run ""
grep -q "no terminal to ask" run.log || fail "not said why the undo disk was kept"
[ -e base.vud ] && [ "$(hash base.vhd)" = "$H0" ] || fail "undecided exit changed something"

step "discard: the undo disk is deleted, the disk is as it was"
run discard
[ ! -e base.vud ] || fail "discard left the undo disk"
[ "$(hash base.vhd)" = "$H0" ] && [ "$(view base.vhd)" = "$V0" ] || fail "discard changed the disk"

step "commit: the disk now holds what the guest saw"
changes 9
V2=$(view base.vud)
run commit
[ ! -e base.vud ] || fail "commit left the undo disk"
[ "$(hash base.vhd)" != "$H0" ] || fail "commit did not change the disk"
[ "$(view base.vhd)" = "$V2" ] || fail "the committed disk differs from the guest's view"
"$LODGE" disk check base.vhd >/dev/null || fail "the committed disk fails check"
H1=$(hash base.vhd)

if command -v script >/dev/null; then
	step "on a terminal, the user is asked (and answers d)"
	changes 11
	out=$(printf 'd\n' | script -qec "$LODGE run --accel emu --bios exit.rom --debug-exit \
		--serial none --headless --disk base.vhd --undo" /dev/null 2>&1) || true
	grep -q "\[c\]ommit them to the disks, \[d\]iscard them" <<<"$out" || fail "no prompt: $out"
	[ ! -e base.vud ] && [ "$(hash base.vhd)" = "$H1" ] || fail "the answer d was not obeyed"
fi

step "SIGKILL during a session: the disk is untouched, the undo disk usable"
changes 13
V3=$(view base.vud)
"$LODGE" run --accel emu --bios spin.rom --serial none --headless --disk base.vhd --undo \
	</dev/null >kill.log 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "primary master" kill.log && break; sleep 0.05; done
grep -q "primary master" kill.log || { kill -9 $pid; cat kill.log; fail "the VM did not start"; }
sleep 0.2
kill -9 $pid
wait $pid 2>/dev/null || true
[ "$(hash base.vhd)" = "$H1" ] || fail "a killed session changed the disk"
"$LODGE" disk check base.vud >/dev/null || fail "the undo disk fails check after the kill"
[ "$(view base.vud)" = "$V3" ] || fail "the undo disk lost its content"
run discard
[ "$(hash base.vhd)" = "$H1" ] || fail "discard after the kill changed the disk"
echo "undo_run: all passed"
