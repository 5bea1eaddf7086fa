#!/usr/bin/env bash
# The release-readiness check (scripts/check-release-readiness.sh) as a smoke
# the test gate runs.
set -euo pipefail
bash "$(dirname "$0")/check-release-readiness.sh"
echo "traceframe release-readiness smoke: ok"
