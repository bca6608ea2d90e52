#!/usr/bin/env bash
# undo.sh: undo disks under a real guest. The test disk, converted to a
# dynamic VHD, is booted three times with --undo; each session appends a
# line to /root/undo.txt and prints the file, then ends (remounting / read-
# only first, so the writes are whole on the disk).
#
#   undo.sh LODGE ENGINE CACHE
#
#   1. --on-exit keep:    base.vhd unchanged (same sha256), base.vud kept
#   2. --on-exit commit:  the guest sees session 1's line (the kept undo disk
#                         was continued), then base.vhd holds both lines
#   3. --on-exit discard: the guest sees three lines; afterwards base.vhd is
#                         byte for byte what commit left, with two lines
# After each, no undo disk is left unless kept. The file is read from the
# VHD on the host (lodge disk convert to raw, debugfs), and e2fsck must find
# the filesystem clean.
#
# Boots directly (--kernel, root=/dev/sda1) to spend the time on the undo
# disk rather than on firmware; lodge ends through the test exit device.
set -u
[ $# = 3 ] || { echo "usage: $0 LODGE ENGINE CACHE" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init "undo disks" "$1" "$2" "$3"
[ "$engine" = qemu ] && it_skip "undo disks are Lodge's own (QEMU's -snapshot only discards)"
it_need_media lodge-test-disk.img vmlinuz initramfs.cpio.gz
it_need_option --disk "the IDE controller (ATA disk)"
it_need_option --undo "undo disks"

cd "$it_dir" || exit 1
cp "$cache/lodge-test-disk.img" disk.img
"$lodge" disk convert disk.img base.vhd --to vhd-dynamic >/dev/null ||
	{ it_error "lodge disk convert could not make base.vhd"; it_finish; }
rm disk.img

# session N WORD: boot with --on-exit WORD; the guest appends its line.
session() {
	local run
	run=$("$it_repo/images/linux-cmdline.sh" \
		"echo 'session $1 ($2)' >>/root/undo.txt" 'sed "s/^/undo.txt: /" /root/undo.txt')
	it_boot 33 --debug-exit --mem 256M --disk base.vhd --undo --on-exit "$2" \
		--kernel "$cache/vmlinuz" --initrd "$cache/initramfs.cpio.gz" \
		--append "console=ttyS0 root=/dev/sda1 $run"
	it_expect "lodge-disk: running the command list" "undo.txt: session $1 ($2)" \
		"lodge-disk: done, status 0"
}
hash() { sha256sum base.vhd | cut -d' ' -f1; }

# on_disk LINE...: base.vhd's /root/undo.txt is exactly these lines.
on_disk() {
	local want got
	want=$(printf '%s\n' "$@")
	rm -f view.img
	"$lodge" disk convert base.vhd view.img --to raw >/dev/null ||
		{ it_error "lodge disk convert could not read base.vhd back"; return; }
	got=$(debugfs -R "cat /root/undo.txt" "view.img?offset=1048576" 2>/dev/null)
	[ "$got" = "$want" ] || it_error "base.vhd's /root/undo.txt is '${got//$'\n'/|}', expected '${want//$'\n'/|}'"
	it_fsck "view.img?offset=1048576" "base.vhd's"
}

h0=$(hash)
session 1 keep
it_check "keep changed base.vhd" [ "$(hash)" = "$h0" ]
it_check "keep left no base.vud" [ -f base.vud ]

session 2 commit
it_expect "undo.txt: session 1 (keep)"
it_expect_log "continuing the kept undo disk"
it_check "commit left base.vud behind" [ ! -e base.vud ]
h2=$(hash)
it_check "commit did not change base.vhd" [ "$h2" != "$h0" ]
on_disk "session 1 (keep)" "session 2 (commit)"

session 3 discard
it_expect "undo.txt: session 1 (keep)" "undo.txt: session 2 (commit)"
it_check "discard left base.vud behind" [ ! -e base.vud ]
it_check "discard changed base.vhd" [ "$(hash)" = "$h2" ]
on_disk "session 1 (keep)" "session 2 (commit)"
it_finish
