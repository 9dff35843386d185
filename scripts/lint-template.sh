#!/usr/bin/env bash
# Lints template.yaml offline (no AWS credentials, no network but PyPI for the first install):
#   1. cfn-lint on the SAM template;
#   2. the SAM transform (aws-sam-translator), then cfn-lint on the plain CloudFormation it yields,
#      which catches typos in SQS event and other SAM properties that step 1 lets through.
# tests/template.rs checks what neither catches (authorizer settings, routes, dashboard JSON...).
#
# Usage: scripts/lint-template.sh [TEMPLATE]   (default: template.yaml at the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
template="${1:-template.yaml}"
venv=.tools/sam-venv
requirements=scripts/sam-requirements.txt
stamp="$venv/.installed"

# (Re)install when the venv is missing or the pinned requirements changed.
if [ ! -f "$stamp" ] || ! cmp -s "$requirements" "$stamp"; then
  echo "lint-template: installing $(grep -v '^#' "$requirements" | xargs) into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi

# Nothing below may reach AWS: no credentials, a fixed region, no SAM telemetry.
export AWS_DEFAULT_REGION=eu-west-2 AWS_REGION=eu-west-2 SAM_CLI_TELEMETRY=0
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN

# Kept for inspection: the plain CloudFormation SAM generates (IAM roles, permissions, routes).
transformed=.tools/template.transformed.json

echo "lint-template: cfn-lint $template" >&2
"$venv/bin/cfn-lint" --regions eu-west-2 -- "$template"

echo "lint-template: SAM transform, then cfn-lint on the result" >&2
"$venv/bin/python" scripts/sam_transform.py "$template" "$transformed"
"$venv/bin/cfn-lint" --regions eu-west-2 -- "$transformed"

echo "lint-template: $template OK" >&2
