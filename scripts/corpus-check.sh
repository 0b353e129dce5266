#!/usr/bin/env bash
# Runs the linter over the benchmark corpus (real Rust of the web ecosystem, ~15k files) and
# fails if any file hit an internal error (a panic caught by the engine).
#   usage: scripts/corpus-check.sh [CORPUS_DIR]     (default: target/corpus, built if missing)
# Needs ../shared/bench-corpus/make-corpus.sh (or an existing corpus) and network access to
# crates.io for `cargo vendor` the first time.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$here/target/corpus}
if [[ ! -d $corpus/core ]]; then
  maker=${MAKE_CORPUS:-$here/../shared/bench-corpus/make-corpus.sh}
  "$maker" "$corpus"
fi
cargo build --release --locked --manifest-path "$here/Cargo.toml"
bin=$here/target/release/cargo-stateless-lint
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for mode in "" "--include-tests"; do
  start=$(date +%s.%N)
  set +e
  "$bin" "$corpus/core" --format json -j 2 $mode >"$out"
  code=$?
  set -e
  end=$(date +%s.%N)
  python3 - "$out" "$code" "$mode" "$start" "$end" <<'PY'
import json, sys
from collections import Counter
path, code, mode, start, end = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
doc = json.load(open(path))
rules = Counter(f["rule"] for f in doc["findings"])
print(f"core corpus {mode or '(default)'}: exit {code}, {doc['summary']['files']} files, "
      f"{end - start:.1f}s, findings by rule: {dict(sorted(rules.items()))}")
internal = [f for f in doc["findings"] if f["rule"] == "internal-error"]
for f in internal:
    print(f"  internal-error {f['path']}:{f['line']}: {f['message']}")
if internal or code == 2 and rules.get("manifest-error", 0) == 0:
    sys.exit(1)
PY
done
