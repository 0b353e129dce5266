#!/bin/sh
# Fills fuzz/corpus/ (gitignored) with the seed inputs: every .rs file of fixtures/ and demo/,
# the hand-written seeds in fuzz/seeds/, and one generated file with huge macro bodies.
# Run from anywhere; existing corpus files are kept.
set -eu
fuzz=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz")
mkdir -p "$fuzz/corpus/pipeline" "$fuzz/corpus/config"
cd "$root"
find fixtures demo -name '*.rs' | while read -r f; do
    cp "$f" "$fuzz/corpus/pipeline/$(echo "$f" | tr / _)"
done
cp "$fuzz"/seeds/pipeline/*.rs "$fuzz/corpus/pipeline/"
cp "$fuzz"/seeds/config/*.toml "$fuzz/corpus/config/"
# Huge macro bodies: 1200-argument vec! and tracing::info! calls (~57 KB).
args=$(i=0; while [ $i -lt 1200 ]; do printf 'std::fs::read("f%d"), ' $i; i=$((i + 1)); done)
printf 'async fn f() { let v = vec![%s]; tracing::info!(a = 1, ?b, %%c, "x {}", %s); }\n' \
    "$args" "$args" > "$fuzz/corpus/pipeline/huge-macro.rs"
echo "corpus: $(ls "$fuzz/corpus/pipeline" | wc -l) pipeline, $(ls "$fuzz/corpus/config" | wc -l) config inputs"
