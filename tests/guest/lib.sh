# lib.sh: shared by run-guest.sh and run-cli.sh (sourced, not run).

# guest_skip_unusable ENGINE TEST: exit 77 with a reason when ENGINE cannot
# run on this host. Only KVM can be missing: the software CPU is always built.
guest_skip_unusable() {
	if [ "$1" = kvm ] && ! (exec 3<>/dev/kvm) 2>/dev/null; then
		echo "SKIP $2: /dev/kvm cannot be opened here, so the KVM engine cannot run"
		exit 77
	fi
}

# guest_scratch IMAGES DATA: make a scratch folder holding links to every
# tiny guest and test data file, cd into it, and remove it on exit. Guests
# then see short relative paths on their command lines ("mbinfo.elf").
guest_scratch() {
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/lodge-guest.XXXXXX")
	trap 'rm -rf "$scratch"' EXIT
	for f in "$1"/* "$2"/*; do
		[ -f "$f" ] && ln -sf "$f" "$scratch/"
	done
	cd "$scratch" || exit 1
}
