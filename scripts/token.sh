#!/usr/bin/env bash
# `make token`: a token from the running local stack (`make run`), signed by its HMPPS Auth
# stand-in. ROLES: roles separated by commas or spaces (default: both Resettlement Passport
# roles); USER_NAME: the token's user_name; PORT: the stack's port (8080).
set -euo pipefail
port="${PORT:-8080}"
url="http://127.0.0.1:$port/local/token"
args=(--silent --show-error --get --max-time 10)
roles="${ROLES:-}"
roles="${roles// /,}"
[ -n "$roles" ] && args+=(--data-urlencode "roles=$roles")
[ -n "${USER_NAME:-}" ] && args+=(--data-urlencode "user=$USER_NAME")
body=$(mktemp)
trap 'rm -f "$body"' EXIT
if ! status=$(curl "${args[@]}" --output "$body" --write-out '%{http_code}' "$url" 2>"$body.err"); then
  echo "make token: nothing answers on 127.0.0.1:$port ($(cat "$body.err")); is \`make run\` running there (PORT=$port)?" >&2
  rm -f "$body.err"
  exit 1
fi
rm -f "$body.err"
if [ "$status" != 200 ]; then
  echo "make token: the local stack on port $port answered $status: $(cat "$body")" >&2
  exit 1
fi
cat "$body"
echo
