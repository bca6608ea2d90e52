# lib.sh: shared by the build-*.sh scripts (sourced, not run). The caller
# sets `me` (its messages' prefix) first; LODGE_IMAGE_CACHE overrides the
# cache folder for all of them.
# shellcheck shell=bash disable=SC2034,SC2154  # me, here, cache are shared

here=$(cd "$(dirname "$0")" && pwd)
cache=${LODGE_IMAGE_CACHE:-$here/cache}

say() { echo "$me: $*"; }
die() { echo "$me: $*" >&2; exit 1; }

# need_tools TOOL...: every TOOL is on PATH, or stop naming the first missing.
need_tools() {
	for tool in "$@"; do
		command -v "$tool" >/dev/null || die "$tool is missing; run scripts/deps.sh"
	done
}

# need_file PATH PACKAGE: PATH exists, or stop naming the package holding it.
need_file() {
	[ -e "$1" ] || die "$1 is missing; run scripts/deps.sh (package $2)"
}

# inputs_hash FILE...: one sha256 over the files' contents, in order.
inputs_hash() {
	cat "$@" | sha256sum | cut -d' ' -f1
}

# fresh STAMP CONTENT OUTPUT...: STAMP holds CONTENT and every OUTPUT exists.
fresh() {
	local stamp=$1 want=$2 f
	shift 2
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] || return 1
	for f in "$@"; do
		[ -e "$f" ] || return 1
	done
}

# kib FILE: the file's size in KiB, for the progress lines.
kib() {
	echo "$(($(stat -L -c %s "$1") / 1024)) KiB"
}
