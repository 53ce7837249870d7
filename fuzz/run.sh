#!/usr/bin/env bash
# Bounded fuzzing of what reads untrusted files: the export loader (CSV, NDJSON, Parquet bytes, then
# features and clustering), the project file reader and the rule set reader (then verify and decide).
# Not part of CI: it needs the nightly toolchain and cargo-fuzz (cargo install cargo-fuzz).
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]      default: 600 s each, every target
#
# stream_csv is differential: the streamed load must give the in-memory profile bit for bit.
#
# Seeds are made fresh from the release CLI (small real exports, a rule set with models, a project)
# plus tests/bad_inputs. The corpus grows in fuzz/corpus/TARGET; crashes land in
# fuzz/artifacts/TARGET; the log of each run in fuzz/logs/TARGET.log. A crash found here is fixed and
# its input kept as a regression test under tests/fuzz_regressions/.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(load_csv load_ndjson load_parquet project_file ruleset_file stream_csv)
fi

root=$(cd .. && pwd)
# PERSONA_LAB_BIN: a CLI already built (the seeds only need its sample, segment and predict).
pl=${PERSONA_LAB_BIN:-}
if [ -z "$pl" ]; then
    (cd "$root" && cargo build --release --quiet)
    pl="$root/target/release/persona-lab"
fi

# Seeds: small on purpose (libFuzzer's input size limit follows the largest seed).
seeds=seeds
rm -rf "$seeds" && mkdir -p "$seeds"/{load_csv,load_ndjson,load_parquet,project_file,ruleset_file,stream_csv}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$pl" sample --users 12 --days 10 --seed 1 --out "$tmp/ga4.csv" >/dev/null
"$pl" sample --users 12 --days 10 --seed 2 --style users --out "$seeds/load_csv/users.csv" >/dev/null
"$pl" sample --users 6 --days 5 --seed 3 --style segment --out "$tmp/seg.ndjson" >/dev/null
"$pl" sample --users 12 --days 10 --seed 4 --out "$seeds/load_parquet/ga4.parquet" >/dev/null
head -c 12000 "$tmp/ga4.csv" | sed '$d' > "$seeds/load_csv/ga4.csv"
head -n 40 "$tmp/seg.ndjson" > "$seeds/load_ndjson/segment.ndjson"
for f in "$root"/tests/bad_inputs/*; do
    case "$f" in
        *.csv) cp "$f" "$seeds/load_csv/" ;;
        *.ndjson) cp "$f" "$seeds/load_ndjson/" ;;
        *.parquet) cp "$f" "$seeds/load_parquet/" ;;
    esac
done
find "$seeds/load_csv" -size +64k -delete
# The differential target takes a CSV after one byte that picks the batch size and the parts.
for f in "$seeds"/load_csv/*; do
    for b in 3 26 61; do
        { printf "\\$(printf %o "$b")"; cat "$f"; } > "$seeds/stream_csv/$b-$(basename "$f")"
    done
done
# Nesting and width at the edges of the NDJSON limits (json_lines: 32 levels, 10,000 keys).
python3 - "$seeds/load_ndjson" <<'PY'
import sys
d = sys.argv[1]
head = '{"user_id":"u1","event":"page_view","timestamp":"2024-01-01T00:00:00Z"'
open(f"{d}/deep31.ndjson", "w").write(head + "}\n" + head + ',"p":' + '{"k":' * 30 + "1" + "}" * 30 + "}\n")
open(f"{d}/wide.ndjson", "w").write(head + "}\n" + head + ',"p":{' + ",".join(f'"k{i}":{i}' for i in range(2000)) + "}}\n")
open(f"{d}/spread.ndjson", "w").write("".join(head + ',"p":{"k%d":1}}\n' % i for i in range(300)))
PY
# A rule set with a score model and a project, from a real run on a larger sample.
"$pl" sample --users 300 --days 60 --seed 5 --out "$tmp/train.csv" >/dev/null
"$pl" segment "$tmp/train.csv" --k 4 --seed 1 --out "$seeds/ruleset_file/segments.ron" \
    --project "$seeds/project_file/project.plab" >/dev/null
cp "$seeds/ruleset_file/segments.ron" "$tmp/model.ron"
"$pl" predict "$tmp/train.csv" --target churn --model forest --trees 3 --max-depth 3 \
    --into "$tmp/model.ron" >/dev/null
cp "$tmp/model.ron" "$seeds/ruleset_file/with_model.ron"
cp "$root"/tests/fixtures/rules/*.ron "$seeds/ruleset_file/"

mkdir -p logs
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    echo "== $t: $secs s"
    # -timeout: an input taking longer is a hang (reported as a timeout artifact).
    dict=()
    name=${t#load_}; name=${name#stream_}
    if [ -f "dicts/$name.dict" ]; then dict=(-dict="dicts/$name.dict"); fi
    cargo +nightly fuzz run -O "$t" "corpus/$t" "$seeds/$t" -- "${dict[@]}" \
        -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
        >"logs/$t.log" 2>&1 || echo "   $t stopped with a finding (see logs/$t.log)"
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "logs/$t.log" || true
    # Reader panics the loader's guard turned into named errors (bugs upstream, survived here).
    grep -h "guarded reader panic" "logs/$t.log" | sort -u | sed 's/^/   /' || true
    echo "   corpus $(find "corpus/$t" -type f | wc -l) inputs, findings: $(find "artifacts/$t" -type f | wc -l)"
done
