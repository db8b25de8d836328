#!/usr/bin/env bash
# Run every check: lint (ruff), types (mypy), the Dockerfile (hadolint) and the test suite
# (pytest, real Redis).
# The tests use FEEDSVC_TEST_REDIS_URL (default redis://127.0.0.1:6379/15), or start a
# private redis-server when none answers there.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/hadolint Dockerfile
.venv/bin/python -m pytest "$@"
