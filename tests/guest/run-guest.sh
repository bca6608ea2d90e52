#!/usr/bin/env bash
# run-guest.sh: run one tiny guest and check its serial transcript and exit
# status.
#
#   run-guest.sh LODGE ENGINE NAME STATUS IMAGES DATA EXPECT -- ARGS...
#
# runs, in a scratch folder holding links to IMAGES/* and DATA/*,
#   LODGE run --accel ENGINE --headless --debug-exit --strict-io --mem 64M \
#             --serial stdio ARGS...
# and passes when COM1's output equals EXPECT/NAME.ENGINE.expect (if that
# exists, for output that really differs by engine) or EXPECT/NAME.expect
# byte for byte, and lodge exits with STATUS. Guests report through the
# debug-exit port: a passing one writes 0x10, so lodge exits with 33.
#
# Bounds: LODGE_GUEST_TIMEOUT seconds (default 120: generous, a guest takes
# well under one) and LODGE_GUEST_MAX_OUTPUT bytes of output (default 65536);
# a guest that runs away fails instead of filling the disk.
# Exit status: 0 pass, 1 fail, 77 skip (printed with the reason).
set -u
[ $# -ge 8 ] && [ "$8" = -- ] || {
	echo "usage: $0 LODGE ENGINE NAME STATUS IMAGES DATA EXPECT -- ARGS..." >&2
	exit 2
}
lodge=$1 engine=$2 name=$3 want_status=$4 images=$5 data=$6 expect_dir=$7
shift 8
. "$(dirname "$0")/lib.sh"

expect=$expect_dir/$name.$engine.expect
[ -f "$expect" ] || expect=$expect_dir/$name.expect
if [ ! -f "$expect" ]; then
	echo "FAIL $name on $engine: no expected transcript $expect_dir/$name.expect" >&2
	exit 1
fi
guest_skip_unusable "$engine" "$name on $engine"
guest_scratch "$images" "$data"

timeout=${LODGE_GUEST_TIMEOUT:-120}
max=${LODGE_GUEST_MAX_OUTPUT:-65536}
set -o pipefail
timeout -k 10 "$timeout" "$lodge" run --accel "$engine" --headless --debug-exit --strict-io \
	--mem 64M --serial stdio "$@" </dev/null 2>stderr.log | head -c "$max" >serial.out
status=${PIPESTATUS[0]}

fail=0
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
	echo "FAIL $name on $engine: still running after ${timeout}s (LODGE_GUEST_TIMEOUT)"
	fail=1
elif [ "$(wc -c <serial.out)" -ge "$max" ]; then
	echo "FAIL $name on $engine: more than $max bytes of output (LODGE_GUEST_MAX_OUTPUT)"
	fail=1
elif [ "$status" != "$want_status" ]; then
	echo "FAIL $name on $engine: lodge exited with $status, expected $want_status"
	fail=1
fi
if ! cmp -s "$expect" serial.out; then
	echo "FAIL $name on $engine: the serial output differs from $expect:"
	diff -u --label expected --label actual "$expect" serial.out | head -n 60
	fail=1
fi
if [ $fail = 1 ]; then
	echo "--- lodge's log:"
	head -n 40 stderr.log
	exit 1
fi
echo "PASS $name on $engine ($(wc -l <serial.out) lines, status $status)"
