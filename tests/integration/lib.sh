# lib.sh: the integration tests' harness (sourced by the tests here, which
# are bash scripts). A test boots a real guest from images/cache headless,
# one or more times, and checks its serial console, lodge's exit status and
# whatever the guest left on its disk.
#
#   it_init NAME LODGE ENGINE CACHE    start; ENGINE is kvm, emu, or qemu
#                                      (QEMU TCG as a peer, to check the
#                                      media and the tests themselves)
#   it_need_media FILE...              skip unless CACHE has them
#   it_need_option --FLAG WHAT         skip unless this lodge has --FLAG
#   it_boot STATUS LODGE-RUN-ARGS...   boot once and wait for the exit;
#                                      the console is then in $it_console
#   it_expect TEXT... / it_expect_re REGEX...   lines the console must show
#   it_expect_log TEXT...              lines lodge's log must show (not
#                                      checked on the QEMU peer)
#   it_check "WHAT" COMMAND...         a host-side check that must succeed
#   it_fsck "IMAGE?offset=N" WHOSE     e2fsck -fn finds that filesystem clean
#   it_finish                          PASS, or FAIL with the console's tail
#
# A boot is bounded by LODGE_INTEGRATION_TIMEOUT seconds (default 900: the
# direct boots take 2-3 minutes on the software CPU of a loaded 2-core
# machine, 20-40 s on QEMU TCG; about 70 s of each is the kernel's own XZ
# decompression), and
# ends early on a kernel panic, a triple fault or SeaBIOS's "No bootable
# device". Skips exit 77 and say why.
# LODGE_INTEGRATION_KEEP=1 keeps the scratch folder (consoles, logs, disks).
# shellcheck shell=bash disable=SC2034,SC2154  # it_* globals are shared with the tests
# shellcheck source-path=SCRIPTDIR source=../guest/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../guest/lib.sh"

it_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

it_init() {
	it_name="$1 on $3" lodge=$2 engine=$3 cache=$4
	it_timeout=${LODGE_INTEGRATION_TIMEOUT:-900}
	it_fail=0 it_boots=0 it_times=
	if [ "$engine" = qemu ]; then
		command -v qemu-system-x86_64 >/dev/null || it_skip "qemu-system-x86_64 is not installed"
	else
		guest_skip_unusable "$engine" "$it_name"
	fi
	it_dir=$(mktemp -d "${TMPDIR:-/tmp}/lodge-it.XXXXXX")
	trap 'it_cleanup' EXIT
}

it_cleanup() {
	[ -n "${it_pid:-}" ] && kill "$it_pid" 2>/dev/null
	[ -n "${it_drain:-}" ] && kill "$it_drain" 2>/dev/null
	if [ -n "${LODGE_INTEGRATION_KEEP:-}" ]; then
		echo "kept the consoles, logs and disks in $it_dir"
	else
		rm -rf "$it_dir"
	fi
}

it_skip() {
	echo "SKIP $it_name: $*"
	exit 77
}

it_need_media() {
	for f in "$@"; do
		[ -e "$cache/$f" ] || it_skip "no $f in $cache (run make guest-media)"
	done
}

it_need_option() {
	[ "$engine" = qemu ] && return 0
	"$lodge" run --help 2>/dev/null | grep -q -- "^ *$1 " ||
		it_skip "lodge run has no $1 option: $2 is not in this build"
}

# A failed check: say it, and go on so one run reports every problem.
it_error() {
	echo "FAIL $it_name: $*"
	it_fail=1
}

it_check() {
	local what=$1
	shift
	"$@" || it_error "$what"
}

it_fsck() {
	local out
	out=$(e2fsck -fn "$1" 2>&1) || it_error "e2fsck finds $2 filesystem not clean: $(tail -n 3 <<<"$out")"
}

it_expect() {
	for want in "$@"; do
		if [ -z "$want" ]; then
			it_error "boot $it_boots: an empty expectation (a reference command failed)"
		elif ! grep -qF -- "$want" "$it_console"; then
			it_error "boot $it_boots: no '$want' on the console"
		fi
	done
}

it_expect_re() {
	for want in "$@"; do
		grep -qE -- "$want" "$it_console" || it_error "boot $it_boots: no line matching '$want' on the console"
	done
}

it_expect_log() {
	[ "$engine" = qemu ] && return 0
	for want in "$@"; do
		grep -qF -- "$want" "$it_log" || it_error "boot $it_boots: no '$want' in lodge's log"
	done
}

# it_boot STATUS ARGS...: run the guest with lodge run's ARGS (translated for
# the QEMU peer), headless, COM1 to $it_console, lodge's log to $it_log.
it_boot() {
	local want=$1 start status=
	shift
	it_boots=$((it_boots + 1))
	it_console=$it_dir/console-$it_boots it_log=$it_dir/log-$it_boots
	it_typing=
	start=$SECONDS
	if [ "$engine" = qemu ]; then
		it_qemu_start "$@"
	else
		"$lodge" run --accel "$engine" --headless --serial stdio "$@" \
			</dev/null >"$it_console.raw" 2>"$it_log" &
		it_pid=$!
	fi
	while kill -0 "$it_pid" 2>/dev/null; do
		if [ $((SECONDS - start)) -ge "$it_timeout" ]; then
			it_stop "did not end within $it_timeout s (LODGE_INTEGRATION_TIMEOUT)"
			break
		elif grep -q "Kernel panic" "$it_console.raw"; then
			it_stop "the kernel panicked"
			break
		elif grep -q "triple-faulted" "$it_log"; then
			it_stop "a vCPU triple-faulted"
			break
		elif grep -q "No bootable device" "$it_console.raw"; then
			it_stop "SeaBIOS found nothing to boot (it would wait forever)"
			break
		fi
		[ -n "$it_typing" ] && it_qemu_type_when_ready
		[ -n "$it_button_at" ] && it_press_button_when_ready
		sleep 1
	done
	if [ -n "$it_pid" ]; then
		wait "$it_pid"
		status=$?
		it_pid=
	fi
	# SeaBIOS's screen mirror puts cursor moves into the middle of lines.
	tr -d '\r' <"$it_console.raw" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' >"$it_console"
	if [ "$status" = 1 ] && grep -q "is not part of this build" "$it_log"; then
		it_skip "$(grep -m1 "is not part of this build" "$it_log")"
	fi
	it_times="$it_times $((SECONDS - start))s"
	echo "boot $it_boots: exit status ${status:-none} after $((SECONDS - start)) s"
	[ "$status" = "$want" ] || it_error "boot $it_boots: exit status ${status:-none}, expected $want"
}

# it_button_at=MARKER before it_boot: once the console shows MARKER, press
# the ACPI power button the way a user's desktop does: SIGTERM to lodge
# (QEMU: system_powerdown on its monitor). Pressed once per boot.
it_button_at=
it_press_button_when_ready() {
	grep -qF -- "$it_button_at" "$it_console.raw" || return 0
	it_button_at=
	if [ "$engine" = qemu ]; then
		echo system_powerdown >"$it_dir/mon.in"
	else
		kill -TERM "$it_pid"
	fi
}

it_stop() {
	it_error "boot $it_boots: $1"
	kill "$it_pid" 2>/dev/null
	wait "$it_pid" 2>/dev/null
	it_pid=
}

it_finish() {
	if [ "$it_fail" = 1 ]; then
		echo "--- console of boot $it_boots (last 60 lines):"
		tail -n 60 "$it_console" 2>/dev/null
		echo "--- log of boot $it_boots:"
		tail -n 20 "$it_log" 2>/dev/null
		exit 1
	fi
	echo "PASS $it_name ($it_boots boot(s):$it_times)"
	exit 0
}

# --- the QEMU peer -----------------------------------------------------------
# The same machine as near as QEMU gets: i440FX, SeaBIOS with the screen on
# COM1 (-nographic), no NIC, VGA or default drives; lodge's flags mapped to
# QEMU's. --type-at is done here: keys go through the monitor (sendkey).
it_qemu_start() {
	local a=(-accel tcg -nographic -nodefaults -no-reboot -serial stdio)
	while [ $# -gt 0 ]; do
		case $1 in
		--mem) a+=(-m "$2") ;;
		--cpus) a+=(-smp "$2") ;;
		--kernel | --initrd | --append) a+=("-${1#--}" "$2") ;;
		--boot) a+=(-boot "$2") ;;
		--cdrom) a+=(-drive "file=$2,media=cdrom,if=ide,index=2") ;;
		--disk) a+=(-drive "file=$2,format=$(case $2 in *.vhd) echo vpc ;; *) echo raw ;; esac),if=ide,index=0") ;;
		--type-at) it_typing=$2 ;;
		--debug-exit)
			a+=(-device 'isa-debug-exit,iobase=0xf4,iosize=1')
			shift
			continue
			;;
		*) it_skip "the QEMU peer has no equivalent of $1" ;;
		esac
		shift 2
	done
	if [ -n "$it_typing" ] || [ -n "$it_button_at" ]; then
		mkfifo "$it_dir/mon.in" "$it_dir/mon.out"
		a+=(-chardev "pipe,id=mon,path=$it_dir/mon" -mon 'chardev=mon,mode=readline')
		cat "$it_dir/mon.out" >/dev/null &
		it_drain=$!
	else
		a+=(-monitor none)
	fi
	qemu-system-x86_64 "${a[@]}" </dev/null >"$it_console.raw" 2>"$it_log" &
	it_pid=$!
}

# Once the console shows MARKER, type TEXT (MARKER:TEXT, no ':' in MARKER,
# \n for Enter) with sendkey: letters, digits, space, Enter and - . / only.
it_qemu_type_when_ready() {
	local marker=${it_typing%%:*} text=${it_typing#*:} c key
	grep -qF -- "$marker" "$it_console.raw" || return 0
	it_typing=
	text=${text//\\n/$'\n'}
	while [ -n "$text" ]; do
		c=${text:0:1} text=${text:1}
		case $c in
		[a-z0-9]) key=$c ;;
		[A-Z]) key=shift-${c,,} ;;
		' ') key=spc ;;
		$'\n') key=ret ;;
		-) key=minus ;;
		.) key='dot' ;;
		/) key=slash ;;
		*) it_error "the QEMU peer cannot type '$c'" && continue ;;
		esac
		echo "sendkey $key" >"$it_dir/mon.in"
	done
}
