#!/usr/bin/env bash
# Builds the libiscsi benchmark peer (bench/peer/libiscsi-rw-perf.c) and
# prints the path of the binary on stdout (all other output goes to stderr).
#
#   bench/peer/build.sh            # -> build/bench-peer/libiscsi-rw-perf
#
# Output directory: $BENCH_PEER_DIR, default <repo>/build/bench-peer (build/
# is git-ignored). Rebuilds only when the source or this script is newer
# than the binary. Needs a C compiler and libiscsi's headers
# (apt-get install libiscsi-dev).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT_DIR=${BENCH_PEER_DIR:-$ROOT/build/bench-peer}
SRC=$HERE/libiscsi-rw-perf.c
BIN=$OUT_DIR/libiscsi-rw-perf
CC=${CC:-cc}

# Compiler and linker flags for libiscsi: pkg-config when it knows the
# package, else the Debian default locations.
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libiscsi 2>/dev/null; then
  read -r -a ISCSI_FLAGS <<<"$(pkg-config --cflags --libs libiscsi)"
else
  ISCSI_FLAGS=(-liscsi)
fi

# Probe the header before compiling so a missing -dev package is named
# plainly instead of surfacing as a compiler error.
if ! printf '#include <iscsi/iscsi.h>\n#include <iscsi/scsi-lowlevel.h>\n' |
  "$CC" "${ISCSI_FLAGS[@]}" -E -x c - >/dev/null 2>&1; then
  echo "bench/peer/build.sh: libiscsi headers not found (<iscsi/iscsi.h>)." >&2
  echo "  Install them with: apt-get install libiscsi-dev" >&2
  exit 1
fi

mkdir -p "$OUT_DIR"
if [[ ! -x $BIN || $SRC -nt $BIN || $HERE/../perf-util.h -nt $BIN || ${BASH_SOURCE[0]} -nt $BIN ]]; then
  "$CC" -std=gnu11 -O2 -Wall -Wextra -Werror -o "$BIN.tmp" "$SRC" "${ISCSI_FLAGS[@]}" >&2
  mv -f "$BIN.tmp" "$BIN"
fi
echo "$BIN"
