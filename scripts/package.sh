#!/usr/bin/env bash
# Builds every Lambda function for AWS with cargo-lambda and reports the size of each bootstrap,
# raw and zipped (what Lambda stores and loads on a cold start).
#
#   scripts/package.sh                 # arm64 (the template's default Architecture)
#   ARCH=x86_64 scripts/package.sh     # must match the stack's Architecture parameter
#
# cargo-lambda and Zig (its cross-linker) come from PyPI into .tools/cl-venv; the Rust target is
# added with rustup when missing. Output: target/lambda/<function>/bootstrap (under
# $CARGO_TARGET_DIR when set) and, next to it, bootstrap.zip. `sam build` does the same build,
# one function at a time (BuildMethod: rust-cargolambda).
set -euo pipefail
cd "$(dirname "$0")/.."

arch_explicit="${ARCH:+yes}"
ARCH="${ARCH:-arm64}"
CARGO_LAMBDA_VERSION=1.9.2
venv=.tools/cl-venv

case "$ARCH" in
  arm64 | aarch64) arch_flag=--arm64; target=aarch64-unknown-linux-gnu ;;
  x86_64 | amd64) arch_flag=--x86-64; target=x86_64-unknown-linux-gnu ;;
  *) echo "package: ARCH must be arm64 or x86_64, not $ARCH" >&2; exit 2 ;;
esac

installed=$("$venv/bin/pip" show cargo-lambda 2>/dev/null | sed -n 's/^Version: //p' || true)
if [ ! -x "$venv/bin/cargo-lambda" ] || [ "$installed" != "$CARGO_LAMBDA_VERSION" ]; then
  echo "package: installing cargo-lambda $CARGO_LAMBDA_VERSION (with Zig) into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
export PATH="$PWD/$venv/bin:$PATH"

# cargo-lambda would add the target itself; doing it here makes a failure explicit.
if ! rustup target list --installed | grep -qx "$target"; then
  echo "package: adding the Rust target $target" >&2
  if ! rustup target add "$target"; then
    if [ "$target" = aarch64-unknown-linux-gnu ] && [ -z "$arch_explicit" ]; then
      # The template's Architecture parameter must then be x86_64 for these binaries.
      echo "package: this machine cannot install $target; building x86_64 instead (deploy with Architecture=x86_64)" >&2
      ARCH=x86_64; arch_flag=--x86-64; target=x86_64-unknown-linux-gnu
    else
      echo "package: cannot install the Rust target $target" >&2
      exit 1
    fi
  fi
fi

functions=()
for manifest in functions/*/Cargo.toml; do
  functions+=("$(basename "$(dirname "$manifest")")")
done
package_args=()
for f in "${functions[@]}"; do package_args+=(--package "$f"); done

# One cargo invocation for all functions: dependencies are compiled once (release profile of the
# root Cargo.toml: LTO, one codegen unit, stripped).
start=$(date +%s)
cargo lambda build --release "$arch_flag" "${package_args[@]}"
echo "package: built ${#functions[@]} functions for $ARCH in $(( $(date +%s) - start ))s" >&2

mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }
printf '%-36s %12s %12s\n' function bootstrap zipped
total=0
for f in "${functions[@]}"; do
  dir="${CARGO_TARGET_DIR:-target}/lambda/$f"
  [ -f "$dir/bootstrap" ] || { echo "package: $dir/bootstrap is missing" >&2; exit 1; }
  rm -f "$dir/bootstrap.zip"
  (cd "$dir" && zip -q -9 bootstrap.zip bootstrap)
  raw=$(stat -c %s "$dir/bootstrap")
  zipped=$(stat -c %s "$dir/bootstrap.zip")
  total=$((total + zipped))
  printf '%-36s %12s %12s\n' "$f" "$(mb "$raw")" "$(mb "$zipped")"
done
printf '%-36s %12s %12s\n' total "" "$(mb "$total")"
