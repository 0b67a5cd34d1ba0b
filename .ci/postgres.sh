#!/usr/bin/env bash
# Installs (Debian) and starts a local PostgreSQL with a `winloss` role and database for the test suite, then
# prints the SQLAlchemy URL to export as WINLOSS_TEST_POSTGRES_URL. Needs root (apt-get, pg_ctlcluster).
set -euo pipefail
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq postgresql) >&2
fi
cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
if [ -z "$cluster" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  pg_createcluster "$version" main >&2
  cluster="$version main"
fi
pg_ctlcluster $cluster start >&2 2>/dev/null || true
port=$(pg_lsclusters --no-header | awk 'NR==1 {print $3}')
as_pg() { su postgres -s /bin/sh -c "$1"; }
if [ -z "$(as_pg "psql -p $port -tAc \"SELECT 1 FROM pg_roles WHERE rolname='winloss'\"")" ]; then
  as_pg "psql -p $port -qc \"CREATE ROLE winloss LOGIN PASSWORD 'winloss' CREATEDB\"" >&2
fi
if [ -z "$(as_pg "psql -p $port -tAc \"SELECT 1 FROM pg_database WHERE datname='winloss_test'\"")" ]; then
  as_pg "createdb -p $port -O winloss winloss_test" >&2
fi
echo "postgresql+psycopg://winloss:winloss@127.0.0.1:$port/winloss_test"
