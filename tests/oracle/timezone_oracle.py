"""Oracle for reading local times in a time zone (src/data/timezone.rs): Python's zoneinfo (the IANA
database) turns each local time into a UTC instant, with fold=0 (the earlier reading of a repeated
hour; a skipped time read with the offset before the change), as the loader does.

Writes, under tests/fixtures/timezone/:
  local_times.csv        an export of naive local times around both daylight-saving changes of 2024
  local_times_<zone>.csv  event,utc_micros: each event's instant when the times are in <zone>
  mixpanel_la.csv        $insert_id,utc_micros of tests/fixtures/vendors/mixpanel_export.ndjson read
                         in America/Los_Angeles (Mixpanel's raw export: epoch seconds in the
                         project's zone)
Run from the repository root:  python3 tests/oracle/timezone_oracle.py
"""
import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

FIX = "tests/fixtures/timezone/"
ZONES = {"la": "America/Los_Angeles", "berlin": "Europe/Berlin"}

times = []
for day, hours in [
    ("2024-01-15", range(0, 24, 5)),
    ("2024-03-10", [0, 1, 2, 3, 4]),      # US clocks go forward at 02:00
    ("2024-03-31", [0, 1, 2, 3, 4]),      # EU clocks go forward at 02:00
    ("2024-07-01", range(0, 24, 5)),
    ("2024-10-27", [0, 1, 2, 3, 4]),      # EU clocks go back at 03:00
    ("2024-11-03", [0, 1, 2, 3, 4]),      # US clocks go back at 02:00
]:
    for h in hours:
        times.append(f"{day} {h:02d}:30:00")

with open(FIX + "local_times.csv", "w") as f:
    f.write("user_id,time,event\n")
    for i, t in enumerate(times):
        f.write(f"u{i % 3},{t},e{i}\n")


def utc_micros(naive: datetime, zone: str) -> int:
    aware = naive.replace(tzinfo=ZoneInfo(zone), fold=0)
    return int(aware.timestamp()) * 1_000_000


for key, zone in ZONES.items():
    with open(FIX + f"local_times_{key}.csv", "w") as f:
        f.write("event,utc_micros\n")
        for i, t in enumerate(times):
            f.write(f"e{i},{utc_micros(datetime.strptime(t, '%Y-%m-%d %H:%M:%S'), zone)}\n")

with open("tests/fixtures/vendors/mixpanel_export.ndjson") as src, open(FIX + "mixpanel_la.csv", "w") as f:
    f.write("insert_id,utc_micros\n")
    for line in src:
        p = json.loads(line)["properties"]
        naive = datetime(1970, 1, 1) + timedelta(seconds=p["time"])
        f.write(f"{p['$insert_id']},{utc_micros(naive, ZONES['la'])}\n")
