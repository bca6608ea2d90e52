#!/bin/sh
# linux-cmdline.sh: make the lodge.run= argument of the test Linux guest
# (see images/linux/init) from shell commands, one per argument, or from
# standard input when there are none.
#
#   lodge run images/demo.lodge --debug-exit \
#       --append "console=ttyS0 $(images/linux-cmdline.sh 'uname -a' 'cat /proc/mounts')"
#
# The kernel command line is at most 2047 bytes, so keep scripts short.
set -eu
if [ $# -gt 0 ]; then
	script=$(printf '%s\n' "$@")
else
	script=$(cat)
fi
printf 'lodge.run=%s\n' "$(printf '%s\n' "$script" | base64 -w0)"
