#!/usr/bin/env bash
# bios_run.sh: run lodge with the BIOS until its serial console (stdout)
# has shown every expected line, then check how it ends.
#
#   bios_run.sh LODGE LIMIT STATUS ACTION PATTERN... [+ LATE...] -- LODGE-ARGS...
#
# LIMIT   seconds to wait for the patterns at most. The host's KVM may be very
#         slow (no VT-x: ~1M instructions/s), so this is a safety net, not
#         the measure: the test ends as soon as the output is complete.
# STATUS  the exit status lodge must end with.
# ACTION  "wait": the guest ends the run itself (e.g. --debug-exit);
#         "term": send SIGTERM once the patterns appeared.
# LATE    lines that must be in the output once lodge has ended.
# Exits 77 (skipped) when KVM or the BIOS is not available, saying why.
set -u
lodge=$1 limit=$2 want_status=$3 action=$4
shift 4
patterns=()
late=()
while [ $# -gt 0 ] && [ "$1" != "--" ] && [ "$1" != "+" ]; do
	patterns+=("$1")
	shift
done
if [ "${1:-}" = "+" ]; then
	shift
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		late+=("$1")
		shift
	done
fi
shift

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable here"
	exit 77
fi
if [ ! -r /usr/share/seabios/bios-256k.bin ]; then
	echo "SKIP: SeaBIOS is not installed (Debian package seabios)"
	exit 77
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
start_ms=$(($(date +%s%N) / 1000000))
"$lodge" run --accel kvm --headless "$@" >"$dir/out" 2>"$dir/err" </dev/null &
pid=$!

missing() {
	for p in "$@"; do
		if ! tr -d '\033' <"$dir/out" | grep -qF -- "$p"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

show() {
	echo "--- guest serial output"
	tr -d '\033' <"$dir/out" | tail -n 40
	echo "--- lodge log"
	tail -n 40 "$dir/err"
}

seen=""
while :; do
	if ! m=$(missing "${patterns[@]}"); then
		seen=yes
		break
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "FAIL: lodge ended before printing: $m"
		wait "$pid"
		echo "exit status $?"
		show
		exit 1
	fi
	if [ $(($(date +%s%N) / 1000000 - start_ms)) -gt $((limit * 1000)) ]; then
		echo "FAIL: no '$m' after $limit s"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		show
		exit 1
	fi
	sleep 0.2
done
elapsed_ms=$(($(date +%s%N) / 1000000 - start_ms))
printf 'all expected output after %d.%d s\n' $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100))

[ "$action" = term ] && kill -TERM "$pid"
# The run must now end on its own promptly.
for _ in $(seq 1 150); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.2
done
if kill -0 "$pid" 2>/dev/null; then
	echo "FAIL: lodge did not stop after the expected output ($action)"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	show
	exit 1
fi
wait "$pid"
status=$?
if [ "$status" != "$want_status" ]; then
	echo "FAIL: exit status $status, expected $want_status"
	show
	exit 1
fi
if [ ${#late[@]} -gt 0 ] && m=$(missing "${late[@]}"); then
	echo "FAIL: no '$m' by the end of the run"
	show
	exit 1
fi
[ -n "$seen" ] && echo "PASS: exit status $status"
exit 0
