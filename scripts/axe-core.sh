#!/usr/bin/env bash
# axe-core.sh: puts axe-core (npm's axe-core: the accessibility checker the
# browser tests run in Chromium, issue 20) where internal/browsertest reads
# it (internal/browsertest/axe/axe.min.js). The npm tarball is kept in a
# cache outside the repository and fetched once (scripts/npm-file.sh); the
# file in the tree is not committed (.gitignore). axe-core is MPL-2.0; it is
# a test fixture only, never shipped.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
exec "$repo/scripts/npm-file.sh" axe-core 4.14.1 axe.min.js "$repo/internal/browsertest/axe/axe.min.js"
