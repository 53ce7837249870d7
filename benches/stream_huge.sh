#!/usr/bin/env bash
# Benchmark: the streamed load at 300 million events (issue 18, part 1: "the time must grow
# linearly"), next to the same export at 3x the 90 days (34 million events) in the same format.
#
# The export is the 120,000-user GA4-style sample of benches/stream.sh with its 90 days laid N times
# end to end (N = 27 by default: about 305 million events, 26 GB of CSV), written gzip-compressed
# (gzip -1: about 5 GB on disk) so that the export and the spilled parts fit on one disk together.
# Both sizes are profiled by `persona-lab features` under a 1 GB budget (PERSONA_LAB_MEMORY=1G);
# the bench reports wall time, peak memory and time per million events of each, and their ratio.
#
#   bash benches/stream_huge.sh [N]     (default 27; about 15 minutes on 2 cores)
#
# Needs: python3, gzip, GNU time, and free space under benches/data/ (git-ignored) and the spill
# folder (PERSONA_LAB_SPILL_DIR, default the temp folder) of about 1.2 GB per x: the bench checks it
# first and stops if it is not there. Everything it generates is deleted at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-27}
users=120000
data=benches/data
mkdir -p "$data"
out=$(mktemp -d)
base=$data/stream_base_${users}.csv
trap 'rm -rf "$out" "$data"/huge_x*.csv.gz' EXIT
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
need_gb=$(( n * 12 / 10 + 2 ))
free_gb=$(df -BG --output=avail "$data" | tail -1 | tr -dc 0-9)
if [ "$free_gb" -lt "$need_gb" ]; then
  echo "not enough disk: $free_gb GB free under $data, $need_gb GB needed for ${n}x"; exit 2
fi
cargo build --release --quiet --bin persona-lab
bin=target/release/persona-lab
[ -f "$base" ] || $bin sample --users "$users" --seed 1 --out "$base" >/dev/null

# gz N: the base export with its 90 days laid N times end to end, gzip -1, as huge_xN.csv.gz.
gz() {
  python3 - "$base" "$1" <<'PY' | gzip -1 >"$data/huge_x$1.csv.gz"
import sys
src, n = sys.argv[1], int(sys.argv[2])
DAYS_US = 90 * 86_400 * 1_000_000
w = sys.stdout
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

base_events=$(($(wc -l <"$base") - 1))
for x in 3 "$n"; do
  f=$data/huge_x$x.csv.gz
  t0=$(date +%s)
  gz "$x"
  echo "generated ${x}x in $(($(date +%s) - t0)) s: $(du -h "$f" | cut -f1) gzip"
  PERSONA_LAB_MEMORY=1G /usr/bin/time -f "%e %M" -o "$out/t" \
    $bin features "$f" --out "$out/p$x.parquet" >"$out/stdout$x" 2>"$out/err" || { cat "$out/err"; exit 1; }
  read -r wall kb <"$out/t"
  grep '^streamed' "$out/stdout$x" || true
  ev=$((base_events * x))
  python3 -c "print(f'  {$x}x: {$ev/1e6:.1f} M events: {$wall:.1f} s, {$wall/($ev/1e6):.3f} s per million events, peak {$kb//1024} MB')" | tee -a "$out/rows"
  rm -f "$f"
done
python3 - "$out/rows" <<'PY'
import re, sys
rows = [l for l in open(sys.argv[1])]
per = [float(re.search(r"([\d.]+) s per million", l).group(1)) for l in rows]
print(f"time per million events at the large size / at 3x: {per[1] / per[0]:.2f} (1.00 is linear)")
PY
