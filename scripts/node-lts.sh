#!/usr/bin/env bash
# Runs Node 24 (the LTS release setup.sh installs by setup.sh; see env.sh) with the
# given arguments, from the project's root.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
exec "$NODE_LTS" "$@"
