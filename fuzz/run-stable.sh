#!/usr/bin/env bash
# Builds and runs one fuzz target with a stable toolchain (no cargo-fuzz, no nightly):
# libFuzzer comes from libfuzzer-sys, coverage from LLVM's sancov pass, which stable rustc
# runs with `-Cpasses=sancov-module` (the flags cargo-fuzz passes, minus AddressSanitizer,
# which needs nightly's -Zsanitizer). Rust code needs no ASan for memory safety; panics,
# overflow and debug assertions are what the targets catch.
#
#   fuzz/run-stable.sh TARGET [libFuzzer flags...]     e.g. fuzz/run-stable.sh tlog_entry -max_total_time=60
#
# Corpus: fuzz/corpus/TARGET (created, not committed) seeded from fuzz/seeds/TARGET;
# crashes land in fuzz/artifacts/TARGET/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
target=${1:?usage: run-stable.sh TARGET [libFuzzer flags...]}
shift
triple=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$here/../target-fuzz}
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# --target keeps the flags off build scripts and proc macros (as cargo-fuzz does).
(cd "$here" && cargo build --release --target "$triple" --bin "$target")
mkdir -p "$here/corpus/$target" "$here/artifacts/$target"
seeds=()
[ -d "$here/seeds/$target" ] && seeds=("$here/seeds/$target")
exec "$CARGO_TARGET_DIR/$triple/release/$target" -artifact_prefix="$here/artifacts/$target/" \
    "$@" "$here/corpus/$target" "${seeds[@]}"
