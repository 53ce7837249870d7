#!/usr/bin/env bash
# Benchmark: `persona-lab features` on a ~10-million-event GA4-style export (about 100,000 users),
# side by side in one run with (a) the pandas equivalent (pyarrow and default C parser) and (b) a hand-written py-polars query, on
# py-polars' default engine (streaming, not bit-reproducible) and on its in-memory engine.
# Reports best-of-N wall time, ratios and peak memory (max RSS). Paths must not contain spaces.
#
#   bash benches/features.sh [USERS] [RUNS]      (defaults: 108000 users ≈ 10M events, 3 runs)
#
# A second part measures GA4's nested NDJSON export (NDJSON_USERS, default 10800 users ≈ 1M events);
# ONLY_NDJSON=1 runs that part alone.
#
# Needs: python3 with pandas>=3, pyarrow, polars (pip install "pandas>=3" pyarrow polars) and GNU time
# (apt-get install time). The export is generated once into benches/data/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-108000}
runs=${2:-3}
data=benches/data
mkdir -p "$data"
csv=$data/events_${users}.csv
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }

# race RESULTS: run the tools of `names` / `cmds` round-robin (one run of each per round, so a slow
# spell of the machine hits them all alike), `runs` rounds; write "name best_wall_s peak_MB" per tool.
race() {
  local -A best=() rss=()
  local round i wall kb name
  for round in $(seq "$runs"); do
    for i in "${!names[@]}"; do
      # shellcheck disable=SC2086  # the command strings are split on purpose
      /usr/bin/time -f "%e %M" -o "$out/t" ${cmds[$i]} >/dev/null 2>"$out/err" || { cat "$out/err"; exit 1; }
      read -r wall kb <"$out/t"
      name=${names[$i]}
      best[$name]=$(python3 -c "print(min(${best[$name]:-999999}, $wall))")
      rss[$name]=$(( kb > ${rss[$name]:-0} ? kb : ${rss[$name]:-0} ))
      echo "round $round: $name $wall s"
    done
  done
  for name in "${names[@]}"; do echo "$name ${best[$name]} $((rss[$name] / 1024))"; done >"$1"
}
cargo build --release --quiet
bin=target/release/persona-lab
if [ -z "${ONLY_NDJSON:-}" ]; then
[ -f "$csv" ] || $bin sample --users "$users" --seed 1 --out "$csv"
events=$(($(wc -l <"$csv") - 1))
echo "input: $csv ($events events, $(du -h "$csv" | cut -f1))"
python3 -c 'import pandas, polars, pyarrow; print(f"peers: pandas {pandas.__version__}, py-polars {polars.__version__}, pyarrow {pyarrow.__version__}")'
echo "persona-lab: polars (Rust) $(grep -A1 'name = "polars"' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p')"

names=(persona-lab pandas pandas-c-parser py-polars py-polars-in-memory)
cmds=(
  "$bin features $csv --out $out/ours.parquet"
  "python3 benches/peers/features_pandas.py $csv $out/pandas.parquet"
  "python3 benches/peers/features_pandas.py $csv $out/pandas-c.parquet c"
  "python3 benches/peers/features_polars.py $csv $out/polars.parquet"
  "python3 benches/peers/features_polars.py $csv $out/polars-mem.parquet in-memory"
)
race "$out/results"

python3 - "$out/results" <<'PY'
import sys
rows = {l.split()[0]: (float(l.split()[1]), int(l.split()[2])) for l in open(sys.argv[1])}
ours = rows["persona-lab"][0]
print()
print(f"{'tool':<22}{'best wall s':>12}{'peak MB':>10}{'vs persona-lab':>16}")
for name, (t, mb) in rows.items():
    print(f"{name:<22}{t:>12.2f}{mb:>10}{t / ours:>15.2f}x")
print()
print(f"persona-lab is {rows['pandas'][0] / ours:.2f}x faster than pandas with the pyarrow parser (target >= 4x)")
print(f"persona-lab is {rows['pandas-c-parser'][0] / ours:.2f}x faster than pandas with its default C parser")
print(f"persona-lab takes {ours / rows['py-polars'][0]:.2f}x the time of hand-written py-polars (target <= 1.3x)")
print(f"persona-lab takes {ours / rows['py-polars-in-memory'][0]:.2f}x the time of the same py-polars query on the "
      "in-memory engine (deterministic, as persona-lab)")
print(f"persona-lab peak memory {rows['persona-lab'][1]} MB (target < 2048 MB)")
PY
fi

# ---------------------------------------------------------------------------------------------------
# NDJSON: GA4's nested JSON export (event_params as key/value lists, INT64 as strings), as BigQuery
# writes it, about 1M events (NDJSON_USERS users). Peers: pandas (read_json(lines=True) + json_normalize)
# and py-polars (scan_ndjson + list expressions), each computing the same features.
nd_users=${NDJSON_USERS:-10800}
nd=$data/ga4_nested_${nd_users}.ndjson
[ -f "$nd" ] || $bin sample --users "$nd_users" --seed 1 --style ga4-bigquery --out "$nd"
nd_bytes=$(stat -c %s "$nd")
echo
echo "input: $nd ($(($(wc -l <"$nd"))) events, $(du -h "$nd" | cut -f1))"
names=(persona-lab pandas py-polars)
cmds=(
  "$bin features $nd --out $out/nd_ours.parquet"
  "python3 benches/peers/features_pandas.py $nd $out/nd_pandas.parquet"
  "python3 benches/peers/features_polars.py $nd $out/nd_polars.parquet"
)
race "$out/nd_results"
python3 - "$out/nd_results" "$nd_bytes" <<'PY'
import sys
rows = {l.split()[0]: (float(l.split()[1]), int(l.split()[2])) for l in open(sys.argv[1])}
mb = int(sys.argv[2]) / 1e6
ours = rows["persona-lab"][0]
print()
print(f"{'tool':<22}{'best wall s':>12}{'MB/s':>8}{'peak MB':>10}{'peak / file':>12}{'vs persona-lab':>16}")
for name, (t, peak) in rows.items():
    print(f"{name:<22}{t:>12.2f}{mb / t:>8.1f}{peak:>10}{peak / mb:>11.2f}x{t / ours:>15.2f}x")
print()
print(f"persona-lab reads GA4 NDJSON at {mb / ours:.1f} MB/s (target >= 50) with peak memory "
      f"{rows['persona-lab'][1] / mb:.2f}x the file (target <= 3x)")
print(f"persona-lab is {rows['pandas'][0] / ours:.2f}x faster than pandas, "
      f"{rows['py-polars'][0] / ours:.2f}x faster than py-polars")
PY
