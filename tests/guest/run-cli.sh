#!/usr/bin/env bash
# run-cli.sh: check that lodge refuses bad input the way users are promised:
# exactly one error sentence on stderr, matching REGEX, and exit status STATUS
# (2 for bad input). Warnings and information lines are allowed around it.
#
#   run-cli.sh LODGE ENGINE STATUS REGEX IMAGES DATA -- ARGS...
#
# ENGINE "none" runs `LODGE ARGS...` as given (flag and VM-file errors, found
# before any VM exists); kvm or emu runs `LODGE run --accel ENGINE
# --headless ARGS...`, for errors found while the VM is built or booted. It
# runs in a scratch folder holding links to IMAGES/* and DATA/*.
# Exit status: 0 pass, 1 fail, 77 skip.
set -u
[ $# -ge 7 ] && [ "$7" = -- ] || {
	echo "usage: $0 LODGE ENGINE STATUS REGEX IMAGES DATA -- ARGS..." >&2
	exit 2
}
lodge=$1 engine=$2 want_status=$3 regex=$4 images=$5 data=$6
shift 7
. "$(dirname "$0")/lib.sh"

if [ "$engine" = none ]; then
	cmd=("$lodge" "$@")
else
	guest_skip_unusable "$engine" "$*"
	cmd=("$lodge" run --accel "$engine" --headless "$@")
fi
guest_scratch "$images" "$data"
timeout -k 10 60 "${cmd[@]}" </dev/null >stdout.log 2>stderr.log
status=$?

# Drop "lodge: TAG warning: ..." and "lodge: TAG info: ..." lines.
grep -Ev '^lodge: [a-z0-9]+ (warning|info): ' stderr.log >errors.log
fail=0
if [ "$status" != "$want_status" ]; then
	echo "FAIL: exit status $status, expected $want_status"
	fail=1
fi
if [ "$(wc -l <errors.log)" != 1 ]; then
	echo "FAIL: expected exactly one error line on stderr, got $(wc -l <errors.log)"
	fail=1
elif ! grep -Eq -- "$regex" errors.log; then
	echo "FAIL: the error does not match /$regex/"
	fail=1
fi
if [ $fail = 1 ]; then
	echo "--- command: ${cmd[*]}"
	echo "--- stderr:"
	cat stderr.log
	exit 1
fi
echo "PASS ($status): $(cat errors.log)"
