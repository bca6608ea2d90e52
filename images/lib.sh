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

# build_begin NAME OUTPUT INPUT...: stop here, saying so, when OUTPUT was
# built from exactly these INPUTs (cache/NAME.stamp); else make the scratch
# folder $work, removed on exit.
build_begin() {
	local name=$1 output=$2
	shift 2
	inputs=$(inputs_hash "$@")
	if fresh "$cache/$name.stamp" "$inputs" "$output"; then
		say "up to date: $output"
		exit 0
	fi
	work=$(mktemp -d "$cache/$name.XXXXXX")
	trap 'rm -rf "$work"' EXIT
}

# build_end NAME NEW OUTPUT: put NEW in place as OUTPUT and stamp it.
build_end() {
	mv "$2" "$3"
	echo "$inputs" >"$cache/$1.stamp"
}

# kib FILE: the file's size in KiB, for the progress lines.
kib() {
	echo "$(($(stat -L -c %s "$1") / 1024)) KiB"
}
