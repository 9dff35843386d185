#!/usr/bin/env bash
# `make package`: builds every function of template.yaml with `sam build` (the path
# docs/deployment.md gives, and the only one), checks the result and reports each bootstrap's size,
# raw and zipped (what Lambda stores and loads on a cold start).
#
#   scripts/package.sh                 # arm64 (the template's default Architecture)
#   ARCH=x86_64 scripts/package.sh     # must match the stack's Architecture parameter
#
# The SAM CLI and cargo-lambda (with Zig, its cross-linker) come from PyPI into .tools/sam-cli
# (scripts/install-build-tools.sh); no Docker. `sam build` runs `cargo lambda build --release`
# for each function in the workspace (root Cargo.toml release profile) and copies each bootstrap
# to .aws-sam/build/<LogicalId>/; scripts/check_sam_build.py then fails if a function is missing,
# its bootstrap is not an ELF executable for ARCH, or the built template does not point at it.
set -euo pipefail
cd "$(dirname "$0")/.."

ARCH="${ARCH:-arm64}"
case "$ARCH" in
  arm64 | aarch64) ARCH=arm64; target=aarch64-unknown-linux-gnu ;;
  x86_64 | amd64) ARCH=x86_64; target=x86_64-unknown-linux-gnu ;;
  *) echo "package: ARCH must be arm64 or x86_64, not $ARCH" >&2; exit 2 ;;
esac

tools=$(scripts/install-build-tools.sh)
export PATH="$tools:$PATH"
# No telemetry, and nothing here may reach AWS.
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-eu-west-2}"

# cargo-lambda would add the target itself; doing it here makes a failure explicit.
if ! rustup target list --installed | grep -qx "$target"; then
  echo "package: adding the Rust target $target" >&2
  rustup target add "$target"
fi

# The SAM CLI's own template check, as docs/deployment.md gives it (offline with --lint).
sam validate --lint --region eu-west-2

start=$(date +%s)
sam build --parameter-overrides "Architecture=$ARCH"
echo "package: sam build for $ARCH took $(( $(date +%s) - start ))s" >&2

"$tools/python" scripts/check_sam_build.py "$ARCH" template.yaml .aws-sam/build
