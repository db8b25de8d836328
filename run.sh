#!/usr/bin/env bash
# Set up feedsvc and run it: Redis (found or started), the worker, and the web service
# on http://localhost:8000. Settings come from the environment and .env (see README.md).
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap
exec .venv/bin/feedsvc-up "$@"
