#!/usr/bin/env bash
# Disk benchmark, A/B in one run: a dynamic VHD through Lodge's block layer,
# a raw file through Lodge's block layer, and QEMU's vpc driver
# (`qemu-img bench`) on the same kind of dynamic VHD (made by `lodge disk
# create`). Sequential 256 KiB and 4 KiB scattered (qemu-img bench's
# wrapping step) reads and writes, queue depth 1, the host page cache on for
# everyone (qemu -t writeback), no final flush (as qemu-img bench).
#
# Writes start from a fresh, empty image (a VHD's block allocation is part
# of the cost; the raw file is sparse), with nothing else of ours on disk.
# Reads run on images filled once, whose pages are cached. The machine is
# shared, so each figure is the best of several runs and the three sides
# take turns going first.
#
# usage: bench/disk.sh [BUILD_DIR] [WORKDIR]    (not part of make check)
# environment: RUNS (5), SIZE_MIB (1024), RCOUNT (100000)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
W=${2:-${TMPDIR:-/tmp}/lodge-disk-bench}
SIZE=$(( ${SIZE_MIB:-1024} << 20 ))
SEQ=$((256 << 10))
RCOUNT=${RCOUNT:-100000}
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

# run KIND MODE: "WALL CPU" for one run. WALL: the program's own timer
# (open and close excluded on both sides); CPU: user+system seconds of the
# whole process, from the shell (the same measure for Lodge and QEMU).
run() {
	local kind=$1 mode=$2 f=$W/$1.img args
	if [ "$kind" = qemu ]; then
		case $mode in
		seq-write) args=(-w -s $SEQ -c $((SIZE / SEQ))) ;;
		seq-read) args=(-s $SEQ -c $((SIZE / SEQ))) ;;
		rand-write) args=(-w -s 4096 -c $RCOUNT -S $STEP) ;;
		rand-read) args=(-s 4096 -c $RCOUNT -S $STEP) ;;
		esac
		args=(qemu-img bench -f vpc -t writeback -d 1 "${args[@]}" "$f")
	else
		case $mode in
		seq-*) args=("$BENCH" "$f" $mode $SIZE $SEQ 1) ;;
		rand-*) args=("$BENCH" "$f" $mode $RCOUNT 4096 1 $STEP) ;;
		esac
	fi
	local TIMEFORMAT='%U %S'
	{ time "${args[@]}" >"$W/out" 2>/dev/null; } 2>"$W/time"
	local wall
	if [ "$kind" = qemu ]; then
		wall=$(sed -n 's/Run completed in \([0-9.]*\) seconds./\1/p' "$W/out")
	else
		wall=$(cut -d' ' -f1 "$W/out")
	fi
	echo "$wall $(awk '{print $1 + $2}' "$W/time")"
}

kinds=(raw vhd qemu)
echo "# bench/disk.sh: $(date -u +%F), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)," \
     "$(uname -r), qemu-img $(qemu-img --version | head -1 | awk '{print $3}'), best of $RUNS"
printf "%-11s %-5s %12s %12s %12s %8s %9s\n" test "" raw lodge-vhd qemu-vpc vhd/raw vhd/qemu
min() { if [ -z "$1" ] || awk "BEGIN{exit !($2 < $1)}"; then echo "$2"; else echo "$1"; fi; }
for mode in seq-write seq-read rand-write rand-read; do
	declare -A wall=() cpu=()
	runs=$RUNS
	if [[ $mode == *-read ]]; then
		# Fill each image once (untimed); reads then take turns on all three.
		for kind in "${kinds[@]}"; do
			[ -e "$W/$kind.img" ] && continue
			case $kind in
			raw) truncate -s $SIZE "$W/$kind.img" ;;
			*) "$LODGE" disk create "$W/$kind.img" --size $SIZE >/dev/null ;;
			esac
			run "$kind" seq-write >/dev/null
		done
		sync
		runs=$((RUNS * 2))
	fi
	for r in $(seq 0 $((runs - 1))); do
		for k in 0 1 2; do
			kind=${kinds[$(( (r + k) % 3 ))]}
			[[ $mode == *-write ]] && fresh "$kind"
			read -r tw tc < <(run "$kind" "$mode")
			[ -n "$tw" ] || { echo "no time from $kind $mode" >&2; exit 1; }
			wall[$kind]=$(min "${wall[$kind]:-}" "$tw")
			cpu[$kind]=$(min "${cpu[$kind]:-}" "$tc")
		done
	done
	[[ $mode == *-write ]] && rm -f "$W"/*.img
	if [[ $mode == seq-* ]]; then
		unit=MiB/s; work=$(( SIZE >> 20 )); ops=$(( SIZE / SEQ ))
	else
		unit=IOPS; work=$RCOUNT; ops=$RCOUNT
	fi
	rate() { awk "BEGIN{printf \"%.0f\", $work / $1}"; }
	us() { awk "BEGIN{printf \"%.1f\", $1 * 1e6 / $ops}"; }
	rr=$(rate "${wall[raw]}") rv=$(rate "${wall[vhd]}") rq=$(rate "${wall[qemu]}")
	printf "%-11s %-5s %12s %12s %12s %7.0f%% %8.0f%%\n" "$mode" wall "$rr $unit" "$rv $unit" \
		"$rq $unit" "$(awk "BEGIN{print 100 * $rv / $rr}")" "$(awk "BEGIN{print 100 * $rv / $rq}")"
	cr=$(us "${cpu[raw]}") cv=$(us "${cpu[vhd]}") cq=$(us "${cpu[qemu]}")
	printf "%-11s %-5s %12s %12s %12s %7.0f%% %8.0f%%\n" "" cpu "$cr us/op" "$cv us/op" \
		"$cq us/op" "$(awk "BEGIN{print 100 * $cr / $cv}")" "$(awk "BEGIN{print 100 * $cq / $cv}")"
	unset wall cpu
done
echo "(wall: best rate of $RUNS runs for writes, $((RUNS * 2)) for reads; cpu: least CPU per"
echo " request over the same runs, shown as raw/vhd and qemu/vhd: above 100%, the VHD costs less)"
