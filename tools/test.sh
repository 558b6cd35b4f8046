#!/usr/bin/env bash
# Runs every test of the workspace, after installing what the tests need on a fresh machine:
#   1. the Cortex-M7 target, to prove that bonemask-core builds without std or an allocator
#      (rustup's target; where it cannot be downloaded, Debian's rustc-web + rust-web-src with
#      -Z build-std=core and the linker from lld-22);
#   2. a check of core's portable fast path for a host that is not x86-64 (aarch64);
#   3. the real radiographs used by the DICOM tests (tools/fetch-data.sh; tests that need them
#      print "skipped: ..." when the download is impossible);
#   4. cargo test over the whole workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

target=thumbv7em-none-eabihf

build_core_for_cortex_m7() {
  if command -v rustup >/dev/null \
    && rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    cargo build -q -p bonemask-core --target "$target" --release
    return
  fi
  if command -v rustup >/dev/null && rustup target add "$target" >/dev/null 2>&1; then
    cargo build -q -p bonemask-core --target "$target" --release
    return
  fi
  echo "rustup cannot provide $target; using Debian's rustc-web with build-std" >&2
  if ! [ -x /usr/bin/rustc ] || ! command -v ld.lld-22 >/dev/null; then
    apt-get update -qq && apt-get install -y -qq rustc-web cargo-web rust-web-src lld-22 >/dev/null
  fi
  RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_THUMBV7EM_NONE_EABIHF_LINKER=ld.lld-22 \
    cargo build -q -p bonemask-core --target "$target" --release -Z build-std=core
}

echo "== bonemask-core for $target (no_std, no allocator)"
build_core_for_cortex_m7
echo "ok: bonemask-core builds for $target"

# The fast path's portable kernels are all that run off x86-64 (an Arm console with std, say);
# clippy for such a target keeps them compiling and free of x86-only dead code.
host_check=aarch64-unknown-linux-gnu
echo "== bonemask-core with std for $host_check (the portable fast path)"
if command -v rustup >/dev/null && rustup target add "$host_check" >/dev/null 2>&1; then
  cargo clippy -q -p bonemask-core --features std --all-targets --target "$host_check" \
    -- -D warnings
  echo "ok: bonemask-core checks for $host_check"
else
  echo "skipped: rustup cannot provide $host_check"
fi

if [ -x tools/fetch-data.sh ]; then
  echo "== test data"
  bash tools/fetch-data.sh || echo "note: test data could not be fetched; tests that need it skip"
fi

echo "== cargo test --workspace"
cargo test --workspace
