#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Run every test program through prove (TAP). Compiled tests live in
# build/tests/; network tests are tests/net/*.sh. Extra arguments are passed
# to prove (e.g. -v). Run from the repository root, as root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/run.sh: the tests load BPF programs and create network namespaces: run as root" >&2
	exit 1
fi

tests=()
for t in build/tests/unit/test_* build/tests/packet/test_* tests/net/test_*.sh; do
	[ -x "$t" ] && tests+=("$t")
done
if [ ${#tests[@]} -eq 0 ]; then
	echo "tests/run.sh: no tests found; run 'make' first" >&2
	exit 1
fi
exec prove --exec '' --timer "$@" "${tests[@]}"
