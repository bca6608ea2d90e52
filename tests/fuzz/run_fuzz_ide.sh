#!/usr/bin/env bash
# Runs the IDE fuzz target for SECONDS over a seed corpus of meaningful
# command sequences (see fuzz_ide.c for the operation bytes): IDENTIFY read
# out word by word, a READ DMA through a PRD table, an ATAPI READ(10) by
# PIO on the slave. Failing inputs are left in WORKDIR/crash-*.
#
# usage: run_fuzz_ide.sh FUZZER WORKDIR SECONDS
set -euo pipefail
FUZZER=$1 W=$2 SECONDS_=$3
[ -x "$FUZZER" ] || { echo "SKIP: the fuzz target was not built (clang with libFuzzer missing)"; exit 77; }
mkdir -p "$W/corpus"
cd "$W"
# e0 XX: write XX to the command register; 07: 256 data-port reads;
# 04: complete a disk request; 84: complete a CD request.
printf '\xe0\xec\x07\x07' >corpus/identify
# PRD entry at 0x1000 -> 512 bytes at 0x2000, EOT; the table pointer; READ
# DMA of LBA 1; start the engine (to memory); complete.
printf '\x05\x00\x10\x00\x00\x20\x00\x00\x00\x02\x00\x80' >corpus/read-dma
printf '\x93\x00\xb3\x10\xd3\x00\xf3\x00\xe0\xc8\x13\x09\x04\x04\x0b\x02' >>corpus/read-dma
# Select the slave (CD), byte-count limit 0x0800, PACKET, READ(10) of LBA
# 16 as six 16-bit data-port writes, complete, read the data out.
printf '\xc0\xb0\x80\x00\xa0\x08\xe0\xa0' >corpus/atapi-read
printf '\x08\x28\x00\x08\x00\x00\x08\x00\x10\x08\x00\x00\x08\x01\x00\x08\x00\x00' \
	>>corpus/atapi-read
printf '\x84\x07\x07\x07\x07' \
	>>corpus/atapi-read
"$FUZZER" -max_total_time="$SECONDS_" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 corpus/ 2>&1 | tail -20
