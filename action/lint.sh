#!/usr/bin/env bash
# Step 2 of action.yml: runs the binary directly (never `cargo stateless-lint`, which a
# repository's .cargo/config.toml alias could redirect). Inputs arrive as environment
# variables and are passed as separate arguments, so no input is ever evaluated as shell.
set -uo pipefail

bin="${STATELESS_LINT_BIN:?the install step did not output a binary}"
read -r -a paths <<<"$(printf '%s' "${INPUT_PATHS:-.}" | tr '\n' ' ')"
[ "${#paths[@]}" -gt 0 ] || paths=(.)
read -r -a extra <<<"${INPUT_ARGS:-}"

args=(--fail-on "${INPUT_FAIL_ON:-warning}")
if [ -n "${INPUT_DIFF_BASE:-}" ]; then
  args+=(--diff-base "$INPUT_DIFF_BASE")
fi

if [ -n "${INPUT_SARIF_FILE:-}" ]; then
  "$bin" --format sarif --output "$INPUT_SARIF_FILE" --exit-zero "${args[@]}" "${extra[@]}" -- "${paths[@]}"
  code=$?
  if [ "$code" -ne 0 ]; then
    echo "exit-code=$code" >>"$GITHUB_OUTPUT"
    exit "$code"
  fi
  echo "sarif-file=$INPUT_SARIF_FILE" >>"$GITHUB_OUTPUT"
fi

"$bin" --format "${INPUT_FORMAT:-github}" "${args[@]}" "${extra[@]}" -- "${paths[@]}"
code=$?
echo "exit-code=$code" >>"$GITHUB_OUTPUT"
exit "$code"
