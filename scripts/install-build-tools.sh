#!/usr/bin/env bash
# Installs the pinned build tools (scripts/build-requirements.txt: the AWS SAM CLI and cargo-lambda with
# Zig) into .tools/sam-cli, once, and again when the pins change. Prints the folder to put on the PATH:
#
#   export PATH="$(scripts/install-build-tools.sh):$PATH"
#   sam build --parameter-overrides Architecture=arm64
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.tools/sam-cli
requirements=scripts/build-requirements.txt
stamp="$venv/.installed"

# A venv's scripts name its Python by absolute path: a venv made from another checkout (e.g. through
# a symlinked .tools) is reinstalled rather than left pointing there.
made_here() { [ "$(head -n 1 "$venv/bin/sam" 2>/dev/null)" = "#!$PWD/$venv/bin/python3" ]; }
if [ ! -f "$stamp" ] || ! cmp -s "$requirements" "$stamp" || ! made_here; then
  echo "install-build-tools: installing $(grep -v '^#' "$requirements" | xargs) into $venv" >&2
  mkdir -p .tools
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
  cp "$requirements" "$stamp"
fi
echo "$PWD/$venv/bin"
