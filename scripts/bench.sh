#!/usr/bin/env bash
# The performance benchmark (docs/performance.md): the full analysis against the parse-only
# pass (the floor), at -j 1 and -j 2, on a corpus of real Rust; the incremental cache (cold
# and warm); ast-grep with equivalent pattern rules on the same files.
#   usage: scripts/bench.sh [CORPUS_DIR]     (default: target/corpus, built if missing)
# Environment: RUNS (timed runs per row, default 3), SETS (default "core web"), JOBS
# (default "1 2"), TOOLS (default "lint cache ast-grep": which rows to measure), OUT (where
# results go, default target/bench; results.tsv is appended to). Needs hyperfine, GNU time (/usr/bin/time), python3, and for the side by
# side `ast-grep` (pip install ast-grep-cli). Not part of `cargo test`: it needs the corpus.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=$(realpath -m "${1:-$here/target/corpus}")
runs=${RUNS:-3}
sets=${SETS:-core web}
jobs=${JOBS:-1 2}
out=${OUT:-$here/target/bench}
mkdir -p "$out"
for tool in hyperfine /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed" >&2; exit 2; }
done
if [[ ! -d $corpus/core ]]; then
  maker=${MAKE_CORPUS:-$here/../shared/bench-corpus/make-corpus.sh}
  "$maker" "$corpus"
fi

echo "== build (release, fat LTO: a few minutes)"
cargo build --release --locked --manifest-path "$here/Cargo.toml"
cargo bench --locked --manifest-path "$here/Cargo.toml" --bench corpus --no-run
bin=$here/target/release/cargo-stateless-lint
harness=$(find "$here/target/release/deps" -maxdepth 1 -type f -executable -name 'corpus-*' \
  -printf '%T@ %p\n' | sort -n | tail -1 | cut -d' ' -f2)

echo "== machine"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), nproc=$(nproc)"
  echo "memory: $(free -g | awk '/Mem:/ {print $2 " GiB"}')"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "rustc: $(rustc --version)"
  echo "commit: $(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet || echo ' (dirty)')"
} | tee "$out/machine.txt"

tools=" ${TOOLS:-lint cache ast-grep} "
results=$out/results.tsv
[[ -s $results ]] ||
  printf 'set\ttool\tjobs\twall_median_s\twall_min_s\twall_max_s\tcpu_s\tpeak_rss_mib\tmb_s\tlines_s\truns\n' >"$results"

# One row: hyperfine's median wall time; CPU (user+sys) and peak RSS are medians over the
# timed runs measured by GNU time around the same command (warm-up runs dropped).
measure() { # set tool jobs bytes lines command...
  local set=$1 tool=$2 j=$3 bytes=$4 lines=$5
  shift 5
  local tag=${set}_${tool// /_}_j$j times=$out/${set}_${tool// /_}_j$j.time
  rm -f "$times"
  local cmd
  cmd=$(printf '%q ' /usr/bin/time -f '%e %U %S %M' -a -o "$times" "$@")
  hyperfine --style basic --runs "$runs" --warmup 1 -i --export-json "$out/$tag.json" \
    ${PREPARE:+--prepare "$PREPARE"} \
    --command-name "$tag" "$cmd >/dev/null 2>&1" >/dev/null
  python3 - "$out/$tag.json" "$times" "$set" "$tool" "$j" "$bytes" "$lines" "$runs" >>"$results" <<'PY'
import json, statistics, sys
hf, times, set_, tool, j, nbytes, nlines, runs = sys.argv[1:]
r = json.load(open(hf))["results"][0]
# GNU time adds a "Command exited with non-zero status N" line before a failing run's.
rows = [list(map(float, l.split())) for l in open(times) if l[:1].isdigit()][1:]  # drop warm-up
cpu = statistics.median(u + s for _, u, s, _ in rows)
rss = statistics.median(m for *_, m in rows) / 1024
wall = r["median"]
print(f"{set_}\t{tool}\t{j}\t{wall:.2f}\t{r['min']:.2f}\t{r['max']:.2f}\t{cpu:.2f}\t{rss:.0f}\t"
      f"{int(nbytes) / 1e6 / wall:.1f}\t{int(nlines) / wall:.0f}\t{runs}")
PY
  tail -1 "$results"
}

for set in $sets; do
  dir=$corpus/$set
  list=$out/$set.files
  echo "== $set: analysed files (in-process harness, 1 run each mode)"
  "$harness" -j 2 --runs 1 --list "$list" "$dir" | tee "$out/$set.harness.txt"
  bytes=$(sed -n 's/.* bytes=\([0-9]*\) .*/\1/p' "$out/$set.harness.txt")
  lines=$(sed -n 's/.* lines=\([0-9]*\) .*/\1/p' "$out/$set.harness.txt")
  common=(--format json --fail-on never --no-cache)
  for j in $jobs; do
    [[ $tools == *" lint "* ]] || continue
    measure "$set" parse-only "$j" "$bytes" "$lines" "$bin" "$dir" -j "$j" "${common[@]}" --parse-only
    measure "$set" full "$j" "$bytes" "$lines" "$bin" "$dir" -j "$j" "${common[@]}"
  done
  # The incremental cache, at the highest -j: cold = empty cache dir (includes writing it),
  # warm = nothing changed since the previous run.
  j=${jobs##* }
  cache=$out/cache-$set
  if [[ $tools == *" cache "* ]]; then
    cold=(env CARGO_TARGET_DIR="$cache" "$bin" "$dir" -j "$j" --format json --fail-on never)
    PREPARE="rm -rf $(printf '%q' "$cache")" measure "$set" cache-cold "$j" "$bytes" "$lines" "${cold[@]}"
    "${cold[@]}" >/dev/null || true
    measure "$set" cache-warm "$j" "$bytes" "$lines" "${cold[@]}"
    du -sh "$cache" | tee -a "$out/machine.txt"
  fi
  if [[ $tools == *" ast-grep "* ]] && command -v ast-grep >/dev/null; then
    rules=$here/benches/ast-grep/rules.yml
    for j in $jobs; do
      measure "$set" ast-grep "$j" "$bytes" "$lines" \
        bash "$here/benches/ast-grep/scan.sh" "$rules" "$j" "$list"
    done
    bash "$here/benches/ast-grep/scan.sh" "$rules" 2 "$list" >"$out/$set.ast-grep.json" || true
  fi
done

echo "== results ($results)"
column -t -s $'\t' "$results"
python3 - "$results" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
get = lambda s, t, j: next((r for r in rows if (r["set"], r["tool"], r["jobs"]) == (s, t, j)), None)
for r in rows:
    if r["tool"] != "full":
        continue
    s, j = r["set"], r["jobs"]
    p, a, w, c = get(s, "parse-only", j), get(s, "ast-grep", j), get(s, "cache-warm", j), get(s, "cache-cold", j)
    line = f"{s} -j {j}: full / parse-only wall {float(r['wall_median_s']) / float(p['wall_median_s']):.2f}x, CPU {float(r['cpu_s']) / float(p['cpu_s']):.2f}x"
    if a:
        line += f"; ast-grep / full wall {float(a['wall_median_s']) / float(r['wall_median_s']):.2f}x"
    if w and c:
        line += f"; warm / cold cache {float(w['wall_median_s']) / float(c['wall_median_s']):.1%}"
    print(line)
PY
