#!/usr/bin/env bash
# Installs the Debian packages the tests and tools use (PostgreSQL, PgBouncer, OpenLDAP, zip, curl) when missing.
set -euo pipefail
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
[ -x /usr/sbin/slapd ] || missing+=(slapd)
command -v ldapadd >/dev/null 2>&1 || missing+=(ldap-utils)
command -v zip >/dev/null 2>&1 || missing+=(zip)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-packages: missing ${missing[*]}; install them (apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-system-packages: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's slapd package starts a system-wide server; the tests run their own.
# Likewise PgBouncer's.
if command -v service >/dev/null 2>&1; then
  service slapd stop >/dev/null 2>&1 || true
  service pgbouncer stop >/dev/null 2>&1 || true
fi
