#!/usr/bin/env bash
# Step 1 of action.yml: puts a cargo-stateless-lint binary in place and outputs its path.
#
# No release binaries are published yet, so the linter is built from this repository at the
# action's ref (`cargo install --locked`). cargo runs from the action's own directory: run
# from the workspace, it would read the checked-out repository's .cargo/config.toml and
# rust-toolchain.toml, which an untrusted pull request controls.
set -euo pipefail

if [ -n "${INPUT_BINARY:-}" ]; then
  if [ ! -x "$INPUT_BINARY" ]; then
    echo "::error title=stateless-lint::binary '$INPUT_BINARY' is not an executable file"
    exit 2
  fi
  bin="$INPUT_BINARY"
else
  root="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/stateless-lint"
  cd "$GITHUB_ACTION_PATH"
  cargo install --locked --path . --root "$root" --bin cargo-stateless-lint
  bin="$root/bin/cargo-stateless-lint"
fi
"$bin" --version
echo "bin=$bin" >>"$GITHUB_OUTPUT"
