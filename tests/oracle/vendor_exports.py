"""Vendor raw exports in the shape each vendor ships them, and what a hand count (pandas) gives per user.

Writes tests/fixtures/vendors/:
  amplitude_export.zip   Amplitude Export API: a zip holding a folder named by the project id with
                         hourly gzipped JSON-lines files (`187520_2024-07-01_10#0.json.gz`);
                         `event_time` "YYYY-MM-DD HH:MM:SS.ffffff" UTC, `session_id` in epoch ms (-1:
                         no session), `event_properties`, `user_properties`, `user_id` null before
                         login (then `device_id` identifies the user), `$insert_id` repeated where
                         the SDK retried.
  mixpanel_export.ndjson Mixpanel raw export: {"event", "properties": {"time" (seconds),
                         "distinct_id", "$insert_id", ...}}, retried events repeated.
  segment_s3/            Segment's S3 destination: segment-logs/<source>/<day ms>/<ms>.<id>.gz
                         hourly gzipped JSON-lines of track / page / identify calls, retried
                         `messageId`s repeated.
  expected_<vendor>.csv  per user: events, sessions, purchases, revenue, counted here with pandas
                         from the vendors' documented rules (dedup keys, identify is not an event,
                         session -1 is none, Mixpanel sessions split at 30 minutes of inactivity).

Run from the repository root:  python3 tests/oracle/vendor_exports.py
"""
import gzip
import io
import json
import os
import random
import zipfile
from datetime import datetime, timedelta, timezone

import pandas as pd

OUT = "tests/fixtures/vendors/"
rng = random.Random(19)
T0 = datetime(2024, 7, 1, 10, 0, 0, tzinfo=timezone.utc)

PURCHASE = {"Purchase", "Order Completed", "purchase"}


def session_events(names):
    """A session's event names: views, sometimes a cart add and a purchase."""
    ev = ["[Amplitude] Page Viewed"] * rng.randint(1, 3) + ["Product Viewed"] * rng.randint(0, 3)
    if rng.random() < 0.5:
        ev.append("Add to Cart")
        if rng.random() < 0.6:
            ev.append("Purchase")
    return [names.get(e, e) for e in ev]


def expected(df, user, session, name, value, gap_minutes=None):
    """events, sessions, purchases, revenue per user, from a flat frame of kept events."""
    out = []
    for u, g in df.groupby(user, sort=True):
        if gap_minutes is None:
            # A user with events had at least one session (the catalogue's rule), even when no
            # event carries a session id (Amplitude's -1).
            sessions = max(1, g[session].dropna().nunique())
        else:
            t = g["_t"].sort_values()
            sessions = 1 + int((t.diff() > pd.Timedelta(minutes=gap_minutes)).sum())
        buys = g[g[name].isin(PURCHASE)]
        out.append({"user_id": u, "events": len(g), "sessions": sessions,
                    "purchases": len(buys), "revenue": float(buys[value].fillna(0).sum())})
    return pd.DataFrame(out)


# ---------------------------------------------------------------- Amplitude
def amplitude():
    rows = []
    n = 0
    for u in range(12):
        device = f"d{u:03d}-{rng.randrange(16**6):06x}"
        logged_in_from = rng.randint(0, 2)  # sessions before login carry no user_id
        t = T0 + timedelta(minutes=rng.randint(0, 100))
        for s in range(rng.randint(1, 4)):
            sid = int(t.timestamp() * 1000)
            for name in session_events({}):
                t += timedelta(seconds=rng.randint(5, 200))
                n += 1
                props = {"path": "/p"}
                if name == "Purchase":
                    props["revenue"] = round(rng.uniform(10, 200), 2)
                rows.append({
                    "$insert_id": f"ins-{n}", "amplitude_id": 900000 + u, "app": 187520,
                    "city": "Berlin", "country": "Germany", "device_id": device,
                    "event_id": n, "event_properties": props,
                    "event_time": t.strftime("%Y-%m-%d %H:%M:%S.%f"),
                    "event_type": name, "groups": {}, "os_name": "Chrome", "platform": "Web",
                    "server_upload_time": (t + timedelta(seconds=2)).strftime("%Y-%m-%d %H:%M:%S.%f"),
                    "session_id": sid,
                    "user_id": f"user-{u}" if s >= logged_in_from else None,
                    "user_properties": {"plan": rng.choice(["free", "pro"])},
                    "uuid": f"uuid-{n}",
                })
            t += timedelta(hours=rng.randint(2, 20))
        # An event outside any session.
        n += 1
        rows.append({"$insert_id": f"ins-{n}", "amplitude_id": 900000 + u, "device_id": device,
                     "event_time": t.strftime("%Y-%m-%d %H:%M:%S.%f"), "event_type": "Product Viewed",
                     "event_properties": {}, "session_id": -1, "user_id": f"user-{u}",
                     "user_properties": {}})
    # The SDK retried some events: same $insert_id, sent again.
    dups = [dict(r) for r in rng.sample(rows, 9)]
    rows_all = rows + dups
    # Hourly files, by event time, zipped in a folder named by the project.
    by_hour = {}
    for r in rows_all:
        hour = r["event_time"][:13]
        by_hour.setdefault(hour, []).append(r)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("187520/", date_time=(2024, 7, 3, 0, 0, 0)), "")
        for hour, rs in sorted(by_hour.items()):
            day, h = hour.split(" ")
            text = "".join(json.dumps(r) + "\n" for r in rs).encode()
            # Amplitude stores the already-gzipped hour files without compressing them again.
            z.writestr(zipfile.ZipInfo(f"187520/187520_{day}_{int(h)}#0.json.gz",
                                       date_time=(2024, 7, 3, 0, 0, 0)),
                       gzip.compress(text, mtime=0), compress_type=zipfile.ZIP_STORED)
    with open(OUT + "amplitude_export.zip", "wb") as f:
        f.write(buf.getvalue())
    df = pd.DataFrame(rows)  # without the retried copies
    df["uid"] = df["user_id"].fillna(df["device_id"])
    df["session"] = df["session_id"].where(df["session_id"] != -1)
    df["value"] = df["event_properties"].map(lambda p: p.get("revenue"))
    expected(df, "uid", "session", "event_type", "value").to_csv(
        OUT + "expected_amplitude.csv", index=False, float_format="%.17g")


# ---------------------------------------------------------------- Mixpanel
def mixpanel():
    rows = []
    n = 0
    for u in range(10):
        t = T0 + timedelta(minutes=rng.randint(0, 300))
        for s in range(rng.randint(1, 4)):
            for name in session_events({"[Amplitude] Page Viewed": "mp_page_view",
                                         "Add to Cart": "Product Added"}):
                t += timedelta(seconds=rng.randint(5, 600))
                n += 1
                props = {"time": int(t.timestamp()), "distinct_id": f"mp-{u}",
                         "$insert_id": f"{rng.randrange(16**12):012x}", "mp_lib": "web",
                         "$browser": "Firefox", "$city": "Lyon"}
                if name == "Purchase":
                    props["revenue"] = round(rng.uniform(5, 90), 2)
                rows.append({"event": name, "properties": props})
            t += timedelta(minutes=rng.randint(45, 2000))
    dups = [json.loads(json.dumps(r)) for r in rng.sample(rows, 7)]
    # Same $insert_id but another event name: a different event for Mixpanel, kept.
    other = json.loads(json.dumps(rows[3]))
    other["event"] = "Signed Up"
    with open(OUT + "mixpanel_export.ndjson", "w") as f:
        for r in rows + dups + [other]:
            f.write(json.dumps(r) + "\n")
    df = pd.DataFrame([{"event": r["event"], **r["properties"]} for r in rows + [other]])
    df["_t"] = pd.to_datetime(df["time"], unit="s", utc=True)
    expected(df, "distinct_id", None, "event", "revenue", gap_minutes=30).to_csv(
        OUT + "expected_mixpanel.csv", index=False, float_format="%.17g")


# ---------------------------------------------------------------- Segment
def segment():
    rows = []
    n = 0
    for u in range(10):
        anon = f"anon-{u}-{rng.randrange(16**8):08x}"
        user = f"cust-{u}" if u % 3 else None
        t = T0 + timedelta(minutes=rng.randint(0, 200))
        for s in range(rng.randint(1, 3)):
            sid = f"s{u}-{s}"
            if user:
                n += 1
                rows.append({"type": "identify", "userId": user, "anonymousId": anon,
                             "messageId": f"msg-{n}", "timestamp": t.isoformat().replace("+00:00", "Z"),
                             "traits": {"plan": "gold"}})
            for name in session_events({"Purchase": "Order Completed", "Add to Cart": "Product Added"}):
                t += timedelta(seconds=rng.randint(5, 300))
                n += 1
                r = {"anonymousId": anon, "userId": user, "messageId": f"msg-{n}",
                     "timestamp": t.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                     "context": {"library": {"name": "analytics.js"}}}
                if name == "[Amplitude] Page Viewed":
                    r.update({"type": "page", "properties": {"session_id": sid, "path": "/"}})
                else:
                    props = {"session_id": sid}
                    if name == "Order Completed":
                        props["revenue"] = round(rng.uniform(20, 300), 2)
                    r.update({"type": "track", "event": name, "properties": props})
                rows.append(r)
            t += timedelta(hours=rng.randint(1, 30))
    dups = [json.loads(json.dumps(r)) for r in rng.sample(rows, 8)]
    root = OUT + "segment_s3/segment-logs/Hx7uQ2/"
    by_hour = {}
    for r in rows + dups:
        ts = datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00"))
        by_hour.setdefault(ts.replace(minute=0, second=0, microsecond=0), []).append(r)
    for hour, rs in sorted(by_hour.items()):
        day_ms = int(hour.replace(hour=0).timestamp() * 1000)
        os.makedirs(f"{root}{day_ms}", exist_ok=True)
        text = "".join(json.dumps(r) + "\n" for r in rs).encode()
        name = f"{root}{day_ms}/{int(hour.timestamp() * 1000)}.{rng.randrange(16**6):06x}.gz"
        with open(name, "wb") as f:
            f.write(gzip.compress(text, mtime=0))
    df = pd.DataFrame([r for r in rows if r["type"] != "identify"])
    df["uid"] = df["userId"].fillna(df["anonymousId"])
    df["name"] = df["event"].fillna(df["type"])
    df["session"] = df["properties"].map(lambda p: p.get("session_id"))
    df["value"] = df["properties"].map(lambda p: p.get("revenue"))
    expected(df, "uid", "session", "name", "value").to_csv(
        OUT + "expected_segment.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    amplitude()
    mixpanel()
    segment()
