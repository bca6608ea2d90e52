#!/usr/bin/env bash
# Runs the VHD fuzz target for SECONDS over a seed corpus of real images
# (dynamic with small blocks, fixed, differencing, a 511-byte footer) made
# with `lodge disk`. Failing inputs are left in WORKDIR/crash-*.
#
# usage: run_fuzz.sh FUZZER LODGE DISK_TOOL WORKDIR SECONDS
set -euo pipefail
FUZZER=$1 LODGE=$2 TOOL=$3 W=$4 SECONDS_=$5
[ -x "$FUZZER" ] || { echo "SKIP: the fuzz target was not built (clang with libFuzzer missing)"; exit 77; }
mkdir -p "$W/corpus" "$W/seeds"
cd "$W/seeds"
rm -f ./*.vhd
"$LODGE" disk create dyn.vhd --size 64K --block-size 4K >/dev/null 2>&1
"$TOOL" write dyn.vhd 0 4096 3
"$TOOL" write dyn.vhd 40960 8192 4
"$LODGE" disk create fixed.vhd --size 16K --type fixed
"$LODGE" disk create diff.vhd --parent dyn.vhd
"$TOOL" write diff.vhd 4096 1024 5
"$LODGE" disk create big.vhd --size 2040G --block-size 256M >/dev/null 2>&1
cp fixed.vhd short.vhd && truncate -s -1 short.vhd
cp ./*.vhd "$W/corpus/"
cd "$W"
"$FUZZER" -max_total_time="$SECONDS_" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 corpus/ 2>&1 | tail -20
