#!/usr/bin/env bash
# The one test command (README, CI). On a clean machine it installs what the tests need
# (Chromium and a CJK font from Debian, Playwright from npm), makes sure PostgreSQL is up, checks
# formatting and lints, then runs every Rust test — each storage test on SQLite and on
# PostgreSQL — and the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

export SHOUWANG_TEST_PG_URL="${SHOUWANG_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# PostgreSQL: the machines run one at 127.0.0.1:5432; start it if it is installed but stopped.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    ver=$(ls /etc/postgresql | head -n1)
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable at 127.0.0.1:5432"; exit 1; }

echo "== formatting and lints (clippy's default set, warnings denied)"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== Rust tests (SQLite and PostgreSQL)"
cargo test --workspace --locked

echo "== browser tests (Playwright + Debian Chromium)"
apt_install chromium fonts-wqy-zenhei
cargo build --locked -p server
(cd e2e && npm ci --no-audit --no-fund --loglevel=error && npm test)

# Drop the per-test PostgreSQL databases of this run.
psql "$SHOUWANG_TEST_PG_URL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'sw_test_%'" 2>/dev/null |
  while read -r db; do psql "$SHOUWANG_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true; done
