#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need when it is
# missing (cargo-nextest; headless Chromium, which renders the HTML report),
# then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

# The tests read ground truth (fixtures, tokenizers) from ../shared beside the
# checkout, or from $LLMLOAD_SHARED: say once what is missing, not in every test.
shared="${LLMLOAD_SHARED:-$(cd .. && pwd)/shared}"
for need in fixtures tokenizers; do
  if [ ! -d "$shared/$need" ]; then
    echo "test.sh: $shared/$need not found: the tests need ../shared (fixtures, tokenizers) beside this checkout, or LLMLOAD_SHARED=/path/to/shared" >&2
    exit 2
  fi
done

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "== installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  echo "== installing chromium (Debian package; used headless to check the HTML report)"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

cargo nextest run --workspace "$@"
