#!/usr/bin/env bash
# Benchmark: an export larger than the memory budget, streamed (issue 18, part 1).
#
# A GA4-style CSV of about 33 million events and 120,000 users (2.9 GB: the 120,000-user sample,
# its 90 days repeated three times one after the other, so every user has three times the events),
# profiled by `persona-lab features`:
#   - in memory (PERSONA_LAB_MEMORY=unlimited),
#   - streamed under a 1 GB budget (PERSONA_LAB_MEMORY=1G),
#   - and by the same features as a hand-written py-polars query on its streaming engine
#     (benches/peers/features_polars.py), in one run, round-robin.
# Reports wall time and peak memory (max RSS) of each, the ratios, and checks that the streamed
# profile is byte for byte the in-memory one. Then the growth curve: the streamed run on 1x, 2x, 3x
# and 6x the 90 days (11 to 67 million events), time per million events.
#
#   bash benches/stream.sh [USERS] [RUNS]     (defaults: 120000 users, 2 runs; about 15 minutes)
#
# Needs: python3 with polars and pyarrow (pip install polars pyarrow), GNU time (apt-get install
# time), and about 10 GB free under benches/data/ (git-ignored) for the exports, which the bench
# generates and deletes, plus the spilled parts (PERSONA_LAB_SPILL_DIR, default the temp folder).
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-120000}
runs=${2:-2}
data=benches/data
mkdir -p "$data"
out=$(mktemp -d)
base=$data/stream_base_${users}.csv
trap 'rm -rf "$out" "$data"/stream_x*.csv' EXIT
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
cargo build --release --quiet --bin persona-lab
bin=target/release/persona-lab
[ -f "$base" ] || $bin sample --users "$users" --seed 1 --out "$base" >/dev/null

# repeat N: the base export with its 90 days laid N times end to end (event and session times
# shifted by 90 days each time), as benches/data/stream_xN.csv.
repeat() {
  python3 - "$base" "$1" "$data/stream_x$1.csv" <<'PY'
import sys
src, n, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
DAYS_US = 90 * 86_400 * 1_000_000
with open(dst, "w", buffering=1 << 24) as w:
    with open(src, buffering=1 << 24) as r:
        header = r.readline()
    w.write(header)
    cols = header.rstrip("\n").split(",")
    ts, sess = cols.index("event_timestamp"), cols.index("ga_session_id")
    for k in range(n):
        shift_us, shift_s = k * DAYS_US, k * DAYS_US // 1_000_000
        with open(src, buffering=1 << 24) as r:
            r.readline()
            for line in r:
                f = line.split(",")
                f[ts] = str(int(f[ts]) + shift_us)
                if f[sess]:
                    f[sess] = str(int(f[sess]) + shift_s)
                w.write(",".join(f))
PY
}

# measure NAME ENV CMD...: one run, "wall_s peak_MB" appended to $out/NAME.
measure() {
  local name=$1 env=$2
  shift 2
  # shellcheck disable=SC2086  # the env assignments are split on purpose
  env $env /usr/bin/time -f "%e %M" -o "$out/t" "$@" >"$out/$name.stdout" 2>"$out/err" || { cat "$out/err"; exit 1; }
  read -r wall kb <"$out/t"
  echo "$wall $((kb / 1024))" >>"$out/$name"
  echo "  $name: $wall s, $((kb / 1024)) MB"
}

repeat 3
csv=$data/stream_x3.csv
events=$(($(wc -l <"$csv") - 1))
echo "input: $csv ($events events, $users users, $(du -h "$csv" | cut -f1))"
python3 -c 'import polars; print(f"peer: py-polars {polars.__version__} (streaming engine)")'
for round in $(seq "$runs"); do
  echo "round $round"
  measure in-memory "PERSONA_LAB_MEMORY=unlimited" $bin features "$csv" --out "$out/whole.csv"
  measure streamed-1G "PERSONA_LAB_MEMORY=1G" $bin features "$csv" --out "$out/streamed.csv"
  measure py-polars-streaming "" python3 benches/peers/features_polars.py "$csv" "$out/polars.parquet"
done
grep '^streamed' "$out/streamed-1G.stdout"
cmp "$out/whole.csv" "$out/streamed.csv" && echo "the streamed profile is byte for byte the in-memory one"

python3 - "$out" <<'PY'
import sys, os
out = sys.argv[1]
rows = {}
for name in ("in-memory", "streamed-1G", "py-polars-streaming"):
    runs = [tuple(map(float, l.split())) for l in open(os.path.join(out, name))]
    rows[name] = (min(r[0] for r in runs), max(r[1] for r in runs))
s = rows["streamed-1G"]
print()
print(f"{'run':<22}{'best wall s':>12}{'peak MB':>10}{'time vs streamed':>18}")
for name, (t, mb) in rows.items():
    print(f"{name:<22}{t:>12.2f}{mb:>10.0f}{t / s[0]:>17.2f}x")
print()
print(f"streamed under 1 GB takes {s[0] / rows['in-memory'][0]:.2f}x the in-memory time (target <= 1.5x) "
      f"with {s[1] / rows['in-memory'][1]:.2f}x its peak memory ({s[1]:.0f} MB; budget 1024 MB)")
print(f"streamed takes {s[0] / rows['py-polars-streaming'][0]:.2f}x the time of py-polars' streaming engine "
      f"on the same features, with {s[1] / rows['py-polars-streaming'][1]:.2f}x its peak memory")
PY

echo
echo "growth: streamed under 1 GB, 1x to 6x the 90 days"
for n in 1 2 3 6; do
  [ -f "$data/stream_x$n.csv" ] || repeat "$n"
  f=$data/stream_x$n.csv
  ev=$(($(wc -l <"$f") - 1))
  bytes=$(stat -c %s "$f")
  : >"$out/g$n"
  measure "g$n" "PERSONA_LAB_MEMORY=1G" $bin features "$f" --out "$out/g.csv"
  read -r wall mb <"$out/g$n"
  python3 -c "print(f'  {$n}x: {$ev/1e6:.1f} M events, {$bytes/1e9:.2f} GB: {$wall:.1f} s, {$wall/($ev/1e6):.3f} s per million events, peak {$mb} MB')"
  [ "$n" = 3 ] || rm -f "$f"
done
