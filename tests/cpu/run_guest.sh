#!/bin/sh
# run_guest.sh LODGE IMAGE EXPECTED ACCEL [FLAGS...]: run a ROM test guest headless and
# compare its COM1 transcript and exit status with the expected ones.
# Status 1 from lodge means the guest wrote 0 to the debug-exit port (pass).
# With ACCEL=kvm the run is skipped (status 77) unless the host has VT-x or
# AMD-V: a /dev/kvm without them cannot run these guests faithfully.
set -u
lodge=$1 image=$2 expected=$3 accel=$4
shift 4
if [ "$accel" = kvm ]; then
	if ! grep -qwE 'vmx|svm' /proc/cpuinfo || [ ! -w /dev/kvm ]; then
		echo "skipped: no hardware-backed /dev/kvm on this host"
		exit 77
	fi
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 60 "$lodge" run --bios "$image" --accel "$accel" --debug-exit --headless \
	--mem 64M "$@" > "$out" 2>"$out.err"
status=$?
if [ $status -ne 1 ]; then
	echo "FAIL: lodge exited with $status (expected 1: guest passed)"
	cat "$out" "$out.err"
	rm -f "$out.err"
	exit 1
fi
rm -f "$out.err"
if ! diff -u "$expected" "$out"; then
	echo "FAIL: transcript differs from $expected"
	exit 1
fi
echo "ok: $(basename "$image") on $accel"
