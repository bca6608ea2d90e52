#!/usr/bin/env bash
# Disk benchmark, A/B in one run: a dynamic VHD through Lodge's block layer,
# a raw file through Lodge's block layer, and QEMU's vpc driver
# (`qemu-img bench`) on the same kind of dynamic VHD (made by `lodge disk
# create`). Sequential 256 KiB and 4 KiB scattered (qemu-img bench's
# wrapping step) reads and writes, queue depth 1, the host page cache on for
# everyone (qemu -t writeback), no final flush (as qemu-img bench).
#
# Writes start from a fresh, empty image (a VHD's block allocation is part
# of the cost; the raw file is sparse). Reads run on a filled image whose
# pages are cached. The machine is shared and the page cache remembers the
# previous run, so each figure is the best of RUNS runs, the three sides
# take turns going first, and nothing else of ours is on disk during a run.
#
# usage: bench/disk.sh [BUILD_DIR] [WORKDIR]    (not part of make check)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
W=${2:-${TMPDIR:-/tmp}/lodge-disk-bench}
SIZE=$((1 << 30))
SEQ=$((256 << 10))
RCOUNT=100000
STEP=$((7919 * 4096))          # an odd number of 4 KiB slots: visits them all
RUNS=${RUNS:-5}

command -v qemu-img >/dev/null || { echo "qemu-img is needed (scripts/deps.sh)"; exit 1; }
cmake --build "$BUILD" --target disk_bench lodge -j2 >/dev/null
LODGE=$BUILD/lodge
BENCH=$BUILD/bench/disk_bench
rm -rf "$W" && mkdir -p "$W"
trap 'rm -rf "$W"' EXIT

fresh() {      # fresh KIND: an empty image, nothing else of ours on disk
	rm -f "$W"/*.img
	case $1 in
	raw) truncate -s $SIZE "$W/$1.img" ;;
	*) "$LODGE" disk create "$W/$1.img" --size $SIZE >/dev/null ;;
	esac
	sync
	sleep 0.5
}

# run KIND MODE: the seconds one run took
run() {
	local kind=$1 mode=$2 f=$W/$1.img
	if [ "$kind" = qemu ]; then
		local args
		case $mode in
		seq-write) args=(-w -s $SEQ -c $((SIZE / SEQ))) ;;
		seq-read) args=(-s $SEQ -c $((SIZE / SEQ))) ;;
		rand-write) args=(-w -s 4096 -c $RCOUNT -S $STEP) ;;
		rand-read) args=(-s 4096 -c $RCOUNT -S $STEP) ;;
		esac
		qemu-img bench -f vpc -t writeback -d 1 "${args[@]}" "$f" 2>/dev/null |
			sed -n 's/Run completed in \([0-9.]*\) seconds./\1/p'
	else
		case $mode in
		seq-*) "$BENCH" "$f" $mode $SIZE $SEQ 1 ;;
		rand-*) "$BENCH" "$f" $mode $RCOUNT 4096 1 $STEP ;;
		esac
	fi
}

kinds=(raw vhd qemu)
echo "# bench/disk.sh: $(date -u +%F), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)," \
     "$(uname -r), qemu-img $(qemu-img --version | head -1 | awk '{print $3}'), best of $RUNS"
printf "%-11s %12s %12s %12s %8s %9s\n" test raw lodge-vhd qemu-vpc vhd/raw vhd/qemu
for mode in seq-write seq-read rand-write rand-read; do
	declare -A best=()
	for r in $(seq 0 $((RUNS - 1))); do
		for k in 0 1 2; do
			kind=${kinds[$(( (r + k) % 3 ))]}
			fresh "$kind"
			if [[ $mode == *-read ]]; then
				run "$kind" seq-write >/dev/null   # fill (untimed)
				sync
			fi
			t=$(run "$kind" "$mode")
			[ -n "$t" ] || { echo "no time from $kind $mode" >&2; exit 1; }
			if [ -z "${best[$kind]:-}" ] || awk "BEGIN{exit !($t < ${best[$kind]})}"; then
				best[$kind]=$t
			fi
		done
	done
	rm -f "$W"/*.img
	if [[ $mode == seq-* ]]; then
		unit=MiB/s; work=$(( SIZE >> 20 ))
	else
		unit=IOPS; work=$RCOUNT
	fi
	rate() { awk "BEGIN{printf \"%.0f\", $work / $1}"; }
	rr=$(rate "${best[raw]}") rv=$(rate "${best[vhd]}") rq=$(rate "${best[qemu]}")
	printf "%-11s %12s %12s %12s %7.0f%% %8.0f%%\n" "$mode" "$rr $unit" "$rv $unit" "$rq $unit" \
		"$(awk "BEGIN{print 100 * $rv / $rr}")" "$(awk "BEGIN{print 100 * $rv / $rq}")"
	unset best
done
