#!/usr/bin/env bash
# Builds bench/core/isc-core-perf.c with the C core compiled in (-O2, as the
# addon) and prints the binary's path on stdout (other output to stderr).
#
#   bench/core/build.sh            # -> build/bench-core/isc-core-perf
#
# Output directory: $BENCH_CORE_DIR, default <repo>/build/bench-core.
# Rebuilds only when a source or this script is newer than the binary.
# Needs a C compiler and OpenSSL's libcrypto headers (libssl-dev).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT_DIR=${BENCH_CORE_DIR:-$ROOT/build/bench-core}
BIN=$OUT_DIR/isc-core-perf
CC=${CC:-cc}
SRCS=("$HERE/isc-core-perf.c" "$ROOT"/native/core/src/*.c)

stale=0
[[ -x $BIN ]] || stale=1
for f in "${SRCS[@]}" "$HERE/../perf-util.h" "$ROOT"/native/core/src/*.h "$ROOT"/native/core/include/isc/*.h "${BASH_SOURCE[0]}"; do
  [[ $f -nt $BIN ]] && stale=1
done
mkdir -p "$OUT_DIR"
if (( stale )); then
  "$CC" -std=c11 -O2 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
    -I"$ROOT/native/core/include" -I"$ROOT/native/core/src" \
    -o "$BIN.tmp" "${SRCS[@]}" -lcrypto >&2
  mv -f "$BIN.tmp" "$BIN"
fi
echo "$BIN"
