#!/usr/bin/env python3
"""An independent evaluator of Persona Lab rule sets, written from docs/ruleset-format.md alone.

It reads the JSON encoding of a rule set (the same content as the RON file), puts a profile into a
segment, computes the model scores and decides what to show, exactly as the page specifies. Run over
the conformance folder, it compares its output with every case's expected output, checks that the
files a reader must refuse are refused at the stated stage, and validates every file against the JSON
Schemas in docs/schema/.

    python3 tests/conformance/evaluate.py conformance/

Prints "cases agreed: N" and "disagreements: D"; exits 1 when D > 0. Needs python3 only; with the
`jsonschema` package installed (CI installs it) the schemas are also checked by it.
"""

import hashlib
import json
import math
import re
import sys
import time as _time
from pathlib import Path

FORMAT_VERSION = 3
DAY_US = 86_400_000_000


class RuleError(Exception):
    def __init__(self, kind, **fields):
        super().__init__(kind)
        self.kind = kind
        self.fields = fields


# ---- times (page: "Times") -------------------------------------------------------------------

def _days_from_civil(y, m, d):
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _month_days(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28
    return 30 if m in (4, 6, 9, 11) else 31


_FORM = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:([Tt ])(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})?)?"
)


def parse_micros(text):
    m = _FORM.fullmatch(text)
    if not m:
        return None
    y, mo, d = int(m[1]), int(m[2]), int(m[3])
    if not 1 <= mo <= 12 or not 1 <= d <= _month_days(y, mo):
        return None
    us = _days_from_civil(y, mo, d) * DAY_US
    if m[4] is None:
        return us
    hh, mi, ss = int(m[5]), int(m[6]), int(m[7])
    if hh > 23 or mi > 59 or ss > 60:
        return None
    us += ((hh * 60 + mi) * 60 + ss) * 1_000_000
    zone = m[9]
    if zone is None:
        # Form 2: no fraction, a `T`.
        return us if m[8] is None and m[4] == "T" else None
    if m[8] is not None:
        us += int((m[8] + "000000")[:6])
    if zone in ("Z", "z"):
        return us
    oh, om = int(zone[1:3]), int(zone[4:6])
    if oh > 23 or om > 59:
        return None
    off = (oh * 60 + om) * 60_000_000
    return us - off if zone[0] == "+" else us + off


def parse_time(field, text):
    v = parse_micros(text.strip())
    if v is None:
        raise RuleError("bad_time", field=field, value=text)
    return v


def is_rfc3339(text):
    # Longer than form 2 and a time: only form 1 (with a zone) is both.
    return len(text) > 19 and parse_micros(text) is not None


# ---- event names -------------------------------------------------------------------------------

SYNONYMS = {
    "PageView": ["page_view", "pageview", "page_viewed", "page", "screen_view", "screen", "viewed_page",
                 "loaded_a_page", "view_page", "mp_page_view", "mp_web_page_view", "amplitude_page_viewed"],
    "ProductView": ["view_item", "product_viewed", "view_product", "product_view", "viewed_product",
                    "product_detail_view", "item_viewed", "view_item_details"],
    "AddToCart": ["add_to_cart", "product_added", "added_to_cart", "addtocart", "add_cart", "cart_add",
                  "add_to_bag", "added_to_bag"],
    "Purchase": ["purchase", "order_completed", "checkout_completed", "completed_order", "transaction",
                 "order_placed", "purchase_completed", "completed_purchase"],
    "Search": ["search", "view_search_results", "products_searched", "search_performed", "searched",
               "site_search", "product_search"],
    "VideoPlay": ["video_start", "video_play", "video_playback_started", "play_video", "video_started",
                  "video_played"],
}


def normalise(name):
    out = []
    last_us = True
    for c in name:
        if c.isalnum():
            out.append(c.lower())
            last_us = False
        elif not last_us:
            out.append("_")
            last_us = True
    s = "".join(out)
    return s.rstrip("_")


def kind_of(name):
    n = normalise(name)
    for k, names in SYNONYMS.items():
        if n in names:
            return k
    return None


def event_matches(match, name):
    if "Name" in match:
        return match["Name"] == name
    return kind_of(name) == match["Kind"]


# ---- segment and scores ------------------------------------------------------------------------

def scaled(f, raw):
    x = f["fill"] if raw is None else raw
    t = math.log1p(max(x, 0.0)) if f["log1p"] else x
    return (t - f["center"]) / f["scale"]


def sq_dist(a, b):
    acc = [0.0, 0.0, 0.0, 0.0]
    full = len(a) // 4 * 4
    for i in range(0, full, 4):
        for lane in range(4):
            t = a[i + lane] - b[i + lane]
            acc[lane] += t * t
    tail = 0.0
    for i in range(full, len(a)):
        tail += (a[i] - b[i]) * (a[i] - b[i])
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + tail


def assign(rs, features):
    v = []
    for f in rs["features"]["transform"]["features"]:
        if f["id"] not in features:
            raise RuleError("missing_feature", feature=f["id"], needed_by="the segment model")
        v.append(f["weight"] * scaled(f, features[f["id"]]))
    best, best_d = 0, math.inf
    for s, c in enumerate(rs["segments"]["centroids"]):
        d = sq_dist(v, c)
        if d < best_d:
            best, best_d = s, d
    return best


def tree_prob(tree, row):
    i = 0
    for _ in range(len(tree["nodes"]) + 1):
        node = tree["nodes"][i]
        if "Leaf" in node:
            return node["Leaf"]
        j, t, left, right = node["Split"]
        i = left if row[j] <= t else right
    return math.nan


def score(model, features):
    row = []
    for f in model["transform"]["features"]:
        if f["id"] not in features:
            raise RuleError("missing_feature", feature=f["id"], needed_by=f'the model "{model["name"]}"')
        row.append(scaled(f, features[f["id"]]))
    m = model["model"]
    if "Logistic" in m:
        lg = m["Logistic"]
        z = lg["intercept"] + sum(w * x for w, x in zip(lg["coef"], row))
        return 1.0 / (1.0 + math.exp(-z))
    trees = m["Forest"]["trees"]
    return sum(tree_prob(t, row) for t in trees) / max(len(trees), 1)


# ---- conditions --------------------------------------------------------------------------------

def cmp_holds(cmp, x):
    (op, arg), = cmp.items()
    if op == "Between":
        return arg[0] <= x <= arg[1]
    return {"Gt": x > arg, "Ge": x >= arg, "Lt": x < arg, "Le": x <= arg, "Eq": x == arg}[op]


def holds(c, facts, rule):
    if c == "Always":
        return True
    (tag, arg), = c.items()
    if tag == "PersonaIn":
        return facts["persona"] in arg
    if tag == "PersonaNotIn":
        return facts["persona"] not in arg
    if tag == "Feature":
        name, cmp = arg
        if name not in facts["features"]:
            raise RuleError("missing_feature", feature=name, needed_by=f'rule "{rule}"')
        v = facts["features"][name]
        return v is not None and cmp_holds(cmp, v)
    if tag == "EventCount":
        match, window, cmp = arg
        n = sum(1 for e in facts["session_events"] if event_matches(match, e))
        if window != "Session":
            since = facts["now"] - window["Days"] * DAY_US
            n += sum(1 for e, t in facts["history"] if since < t <= facts["now"] and event_matches(match, e))
        return cmp_holds(cmp, float(n))
    if tag == "Score":
        name, cmp = arg
        if name not in facts["scores"]:
            raise RuleError("missing_score", score=name, rule=rule)
        return cmp_holds(cmp, facts["scores"][name])
    if tag == "Returning":
        if facts["returning"] is None:
            raise RuleError("unknown_returning", rule=rule)
        return facts["returning"] == arg
    if tag == "Consent":
        return facts["consent"] == arg
    if tag == "All":
        return all(holds(x, facts, rule) for x in arg)
    if tag == "Any":
        return any(holds(x, facts, rule) for x in arg)
    if tag == "Not":
        return not holds(arg, facts, rule)
    raise ValueError(tag)


def condition_features(c, out):
    if c == "Always":
        return
    (tag, arg), = c.items()
    if tag == "Feature" and arg[0] not in out:
        out.append(arg[0])
    elif tag in ("All", "Any"):
        for x in arg:
            condition_features(x, out)
    elif tag == "Not":
        condition_features(arg, out)


# ---- wording -----------------------------------------------------------------------------------

def num(x):
    if x == math.trunc(x) and abs(x) < 1e15:
        return f"{x:.0f}"
    return f"{x:.4f}".rstrip("0").rstrip(".")


def cmp_text(cmp):
    (op, arg), = cmp.items()
    if op == "Between":
        return f"between {num(arg[0])} and {num(arg[1])}"
    return {"Gt": ">", "Ge": ">=", "Lt": "<", "Le": "<=", "Eq": "="}[op] + " " + num(arg)


KIND_TEXT = {"PageView": "page views", "ProductView": "product views", "AddToCart": "add-to-cart events",
             "Purchase": "purchases", "Search": "searches", "VideoPlay": "video plays"}


def event_text(match):
    return f'"{match["Name"]}" events' if "Name" in match else KIND_TEXT[match["Kind"]]


def window_text(w):
    if w == "Session":
        return "in this session"
    return "in the last day" if w["Days"] == 1 else f"in the last {w['Days']} days"


def describe(c, names):
    if c == "Always":
        return "everyone"
    (tag, arg), = c.items()
    if tag == "PersonaIn":
        return "you belong to " + " or ".join(names(i) for i in arg)
    if tag == "PersonaNotIn":
        return "you do not belong to " + " or ".join(names(i) for i in arg)
    if tag in ("Feature", "Score"):
        return f"{arg[0]} {cmp_text(arg[1])}"
    if tag == "EventCount":
        return f"{event_text(arg[0])} {window_text(arg[1])} {cmp_text(arg[2])}"
    if tag == "Returning":
        return "you are a returning visitor" if arg else "this is your first visit"
    if tag == "Consent":
        return "you allowed personalisation" if arg else "you did not allow personalisation"
    if tag in ("All", "Any"):
        if not arg:
            return "everyone" if tag == "All" else "nobody"
        parts = []
        for x in arg:
            t = describe(x, names)
            if isinstance(x, dict) and next(iter(x)) in ("All", "Any") and len(next(iter(x.values()))) > 1:
                t = f"({t})"
            parts.append(t)
        return (" and " if tag == "All" else " or ").join(parts)
    if tag == "Not":
        return f"not ({describe(arg, names)})"
    raise ValueError(tag)


def asks_high(cmp):
    (op, arg), = cmp.items()
    return op in ("Gt", "Ge") or (op == "Between" and arg[0] > 0) or (op == "Eq" and arg > 0)


FEATURE_WORDS = [
    (("recency_days",), "you haven't visited us for a while", "you visited us recently"),
    (("tenure_days",), "you have been with us for a while", "you are new here"),
    (("purchases", "conversion_rate"), "you have ordered from us before", "you haven't ordered from us yet"),
    (("revenue", "avg_order_value"), "you are one of our valued customers", "of what you have ordered so far"),
    (("sessions", "active_days", "frequency", "events", "decayed_events"), "you visit us often",
     "you have only visited a few times"),
    (("searches", "searches_per_session"), "of what you have searched for", None),
    (("product_views", "product_views_per_session"), "of the products you have looked at", None),
    (("cart_adds", "cart_adds_per_session", "add_to_cart_rate"), "of the items you added to your cart", None),
    (("video_plays", "video_plays_per_session"), "of the videos you watch", None),
    (("time_total", "time_per_session", "scroll_mean", "scroll_max"), "you like to take your time reading",
     "you like to browse quickly"),
]

VERBS = {"PageView": "viewed our pages", "ProductView": "viewed products", "AddToCart": "added items to your cart",
         "Purchase": "ordered", "Search": "searched", "VideoPlay": "watched videos"}


def times(k):
    return {1: "once", 2: "twice"}.get(k, f"{k} times")


def customer_events(match, window, cmp):
    verb = "were active" if "Name" in match else VERBS[match["Kind"]]
    if window == "Session":
        when = " in this visit"
    elif window["Days"] == 1:
        when = " today"
    else:
        when = f" in the last {window['Days']} days"
    (op, t), = cmp.items()
    if op == "Gt" and t < 1 or op == "Ge" and t <= 1:
        return f"you {verb}{when}"
    if op == "Gt":
        return f"you {verb} {times(math.floor(t) + 1)} or more{when}"
    if op == "Ge":
        return f"you {verb} {times(math.ceil(t))} or more{when}"
    if op == "Eq" and t == 0 or op == "Lt" and t <= 1 or op == "Le" and t < 1:
        return f"you haven't {verb}{when}"
    if op == "Eq":
        return f"you {verb} {times(math.ceil(t))}{when}"
    if op in ("Lt", "Le"):
        return f"you have only {verb} a few times{when}"
    return f"you {verb} a few times{when}"


def customer(c):
    if c == "Always":
        return "we show this to everyone"
    (tag, arg), = c.items()
    if tag in ("PersonaIn", "PersonaNotIn"):
        return "it suits how you usually browse and shop with us"
    if tag == "Feature":
        name, cmp = arg
        for ids, high, low in FEATURE_WORDS:
            if name in ids:
                return high if low is None or asks_high(cmp) else low
        return "of how you use our site"
    if tag == "EventCount":
        return customer_events(*arg)
    if tag == "Score":
        return "we would love to see you back" if arg[0] == "churn_risk" else "we think this may interest you"
    if tag == "Returning":
        return "you have visited us before" if arg else "this is your first visit"
    if tag == "Consent":
        return "you allowed personalisation" if arg else "you did not allow personalisation"
    if tag in ("All", "Any") and not arg:
        return "we show this to everyone"
    if tag == "All":
        parts = []
        for x in arg:
            p = customer(x)
            if p not in parts:
                parts.append(p)
        return " and ".join(parts)
    if tag == "Any":
        return customer(arg[0])
    return "of how you use our site"


def matched_text(c, facts, rule, say):
    tag = next(iter(c)) if isinstance(c, dict) else c
    if tag == "All" and c["All"]:
        parts = []
        for x in c["All"]:
            p = matched_text(x, facts, rule, say)
            if p not in parts:
                parts.append(p)
        return " and ".join(parts)
    if tag == "Any":
        for x in c["Any"]:
            if holds(x, facts, rule):
                return matched_text(x, facts, rule, say)
    return say(c)


def fill(template, values):
    out = []
    rest = template
    while True:
        i = rest.find("{")
        if i < 0:
            break
        out.append(rest[:i])
        after = rest[i + 1:]
        j = after.find("}")
        if j >= 0 and after[:j] in values:
            out.append(values[after[:j]])
            rest = after[j + 1:]
        else:
            out.append("{")
            rest = after
    out.append(rest)
    return "".join(out)


# ---- buckets -----------------------------------------------------------------------------------

def bucket(purpose, rule_id, user_id):
    h = hashlib.sha256(f"{purpose}:{rule_id}:{user_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") % 10000


def round_half_away(x):
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def in_holdout(rule, user):
    return bucket("holdout", rule["id"], user) < round_half_away(rule["action"]["holdout_percent"] * 100.0)


def variant_of(rule, user):
    variants = rule["action"].get("variants", [])
    if not variants:
        return None
    b = bucket("variant", rule["id"], user)
    cum = 0
    for v in variants:
        cum += v["weight"] * 100
        if b < cum:
            return v
    return variants[-1]


# ---- decide ------------------------------------------------------------------------------------

def decide(rs, profile, session):
    user = profile.get("user_id", "")
    if user == "":
        raise RuleError("no_user_id")
    features = profile.get("features", {})
    rules = rs.get("rules", [])
    for r in rules:
        if not r.get("enabled", True):
            continue
        need = []
        condition_features(r["when"], need)
        for f in need:
            if f not in features:
                raise RuleError("missing_feature", feature=f, needed_by=f'rule "{r["id"]}"')
    segment = assign(rs, features)
    persona_of = {p["segment"]: p for p in rs["personas"]}
    persona = persona_of[segment]["id"] if segment in persona_of else f"segment_{segment}"
    names_by_id = {p["id"]: p["name"] for p in rs["personas"]}

    def names(i):
        return names_by_id.get(i, i)

    now = parse_time("session.now", session["now"]) if session.get("now") is not None else int(_time.time() * 1e6)
    history = [(e["event"], parse_time(f"profile.events[{i}].time", e["time"]))
               for i, e in enumerate(profile.get("events", []))]
    shown = [(s["rule"], parse_time(f"session.shown[{i}].time", s["time"]), s.get("this_session", False))
             for i, s in enumerate(session.get("shown", []))]
    returning = profile.get("returning")
    if returning is None and features.get("sessions") is not None:
        returning = features["sessions"] > 1
    scores = dict(profile.get("scores", {}))
    for m in rs.get("models", []):
        scores[m["name"]] = score(m, features)
    facts = {
        "persona": persona, "features": features, "scores": scores,
        "consent": profile.get("consent") is True, "returning": returning, "now": now,
        "session_events": [e["event"] for e in session.get("events", [])],
        "history": history,
    }
    g = rs.get("guardrails", {"max_offers_per_session": 3, "max_offers_per_day": None, "require_consent": False})
    cap_session = g.get("max_offers_per_session", 3)
    cap_day = g.get("max_offers_per_day")
    day_start = now // DAY_US * DAY_US
    in_session = sum(1 for s in shown if s[2])
    in_day = sum(1 for s in shown if day_start <= s[1] <= now)
    decisions, trace, taken = [], [], {}
    for r in sorted(rules, key=lambda r: r["priority"]):
        outcome = rule_outcome(r, g, facts, taken, shown, in_session + len(decisions), in_day + len(decisions),
                               day_start, cap_session, cap_day, user)
        if outcome["outcome"] == "decided":
            taken[r["action"]["slot"]] = r["id"]
            decisions.append(decision(r, facts, outcome["holdout"], names, user))
        trace.append({"rule": r["id"], "priority": r["priority"], **outcome})
    return {"segment": segment, "persona": persona, "persona_name": names(persona),
            "decisions": decisions, "trace": trace}


def rule_outcome(r, g, facts, taken, shown, offers_session, offers_day, day_start, cap_session, cap_day, user):
    now = facts["now"]
    if not r.get("enabled", True):
        return {"outcome": "disabled"}
    if r.get("start") is not None and now < parse_time(f'rule "{r["id"]}" start', r["start"]):
        return {"outcome": "not_started"}
    if r.get("end") is not None and now >= parse_time(f'rule "{r["id"]}" end', r["end"]):
        return {"outcome": "ended"}
    if g.get("require_consent", False) and not facts["consent"]:
        return {"outcome": "no_consent"}
    if not holds(r["when"], facts, r["id"]):
        return {"outcome": "not_matched"}
    slot = r["action"]["slot"]
    if slot in taken:
        return {"outcome": "slot_taken", "by": taken[slot]}
    caps = r.get("caps", {})
    mine = [s for s in shown if s[0] == r["id"]]
    if caps.get("per_session") is not None and sum(1 for s in mine if s[2]) >= caps["per_session"]:
        return {"outcome": "rule_cap", "limit": caps["per_session"], "window": "session"}
    if caps.get("per_day") is not None and sum(1 for s in mine if day_start <= s[1] <= now) >= caps["per_day"]:
        return {"outcome": "rule_cap", "limit": caps["per_day"], "window": "day"}
    if cap_session is not None and offers_session >= cap_session:
        return {"outcome": "guardrail", "limit": cap_session, "window": "session"}
    if cap_day is not None and offers_day >= cap_day:
        return {"outcome": "guardrail", "limit": cap_day, "window": "day"}
    return {"outcome": "decided", "holdout": in_holdout(r, user)}


def decision(r, facts, holdout, names, user):
    module = variant = None
    if not holdout:
        v = variant_of(r, user)
        module = r["action"]["module"] if v is None or v.get("module") is None else v["module"]
        variant = None if v is None else v["id"]
    matched = matched_text(r["when"], facts, r["id"], customer)
    exact = matched_text(r["when"], facts, r["id"], lambda c: describe(c, names))
    explanation = fill(r["explanation"], {
        "persona": names(facts["persona"]), "condition": matched, "rule": r["name"],
        "variant": variant or "", "module": module or "",
    })
    return {"slot": r["action"]["slot"], "rule": r["id"], "rule_name": r["name"], "module": module,
            "variant": variant, "holdout": holdout, "explanation": explanation, "condition": exact}


# ---- the checksum (page: "Checksum") ------------------------------------------------------------

def fmt_float(x):
    """A double as serde_json writes it: shortest round-trip digits, positional for decimal exponents
    -5..15 (with at least one decimal), else d.ddde±k."""
    from decimal import Decimal
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign, digits, exp = Decimal(repr(abs(x))).as_tuple()
    d = "".join(map(str, digits)).rstrip("0")
    exp += len(digits) - len(d)
    k = exp + len(d) - 1
    out = "-" if x < 0 else ""
    if -5 <= k <= 15:
        if k >= 0:
            whole = (d[: k + 1]).ljust(k + 1, "0")
            frac = d[k + 1:] or "0"
            return f"{out}{whole}.{frac}"
        return f"{out}0.{'0' * (-k - 1)}{d}"
    mant = d[0] + ("." + d[1:] if len(d) > 1 else "")
    return f"{out}{mant}e{'+' if k >= 0 else '-'}{abs(k)}"


def compact(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return fmt_float(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(compact(x) for x in v) + "]"
    return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + compact(x) for k, x in v.items()) + "}"


def checksum(rs):
    def h(text):
        return hashlib.sha256(text.encode()).hexdigest()
    sections = {"header": h(compact([rs["app_version"], rs["created"]]))}
    for name in ("source", "features", "segments", "personas", "models", "guardrails"):
        sections[name] = h(compact(rs[name]))
    for r in rs.get("rules", []):
        sections[f"rule {r['id']}"] = h(compact(r))
    content = h("".join(f"{k}={v}\n" for k, v in sorted(sections.items())))
    return {"content": content, "sections": dict(sorted(sections.items()))}


# ---- reading and verifying ---------------------------------------------------------------------

def read_refusal(rs):
    """Why a parsed JSON rule set must be refused when read (beyond the schema), or None."""
    v = rs.get("format_version")
    if isinstance(v, int) and v > FORMAT_VERSION:
        return "newer version"
    if v == 0:
        return "format_version 0"
    if v == 1 and rs.get("rules") or v in (1, 2) and rs.get("models"):
        return "holds what came after its version"
    seg = rs.get("segments", {})
    if isinstance(seg, dict) and seg.get("k") != len(seg.get("centroids", [])):
        return "k differs from the centroids"
    return None


def verify_errors(rs):
    """The errors of the page's Validation section that this evaluator checks."""
    errs = []
    feats = rs["features"]["transform"]["features"]
    k = len(rs["segments"]["centroids"])
    for c in rs["segments"]["centroids"]:
        if len(c) != len(feats):
            errs.append("centroid length")
    for f in feats:
        if not (math.isfinite(f["scale"]) and abs(f["scale"]) >= 2.2250738585072014e-308):
            errs.append("scale")
    segs = [p["segment"] for p in rs["personas"]]
    if any(s >= k for s in segs) or set(range(k)) - set(segs):
        errs.append("persona and segment")
    if not is_rfc3339(rs["created"]):
        errs.append("created")
    ids = [r["id"] for r in rs.get("rules", [])]
    if len(ids) != len(set(ids)):
        errs.append("duplicate id")
    for r in rs.get("rules", []):
        if r["priority"] < 1:
            errs.append("priority")
        vs = r["action"].get("variants", [])
        if vs and sum(v["weight"] for v in vs) != 100:
            errs.append("variant weights")
        if not 0 <= r["action"].get("holdout_percent", 0.0) < 100:
            errs.append("holdout")
        for d in ("start", "end"):
            if r.get(d) is not None and parse_micros(r[d].strip()) is None:
                errs.append(d)
    return errs


class MiniValidator:
    """The JSON Schema keywords docs/schema uses (type, properties, required, additionalProperties,
    items, prefixItems, minItems, enum, const, oneOf, anyOf, $ref, minimum, maximum), so the schemas
    are checked with python3 alone; CI also runs the `jsonschema` package on them when installed."""

    TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}

    def __init__(self, schema):
        self.root = schema

    def iter_errors(self, value):
        yield from self._check(self.root, value, "$")

    def _check(self, s, v, at):
        if s is True:
            return
        if s is False:
            yield f"{at}: no value allowed"
            return
        if "$ref" in s:
            node = self.root
            for part in s["$ref"].lstrip("#/").split("/"):
                node = node[part]
            yield from self._check(node, v, at)
        t = s.get("type")
        if t == "integer":
            if isinstance(v, bool) or not isinstance(v, int):
                yield f"{at}: not an integer"
                return
        elif t == "number":
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                yield f"{at}: not a number"
                return
        elif t is not None and not isinstance(v, self.TYPES[t]):
            yield f"{at}: not a {t}"
            return
        if "minimum" in s and v < s["minimum"] or "maximum" in s and v > s["maximum"]:
            yield f"{at}: out of range"
        if "enum" in s and v not in s["enum"]:
            yield f"{at}: {v!r} not one of {s['enum']}"
        if "const" in s and v != s["const"]:
            yield f"{at}: not {s['const']!r}"
        for key in ("oneOf", "anyOf"):
            if key in s:
                ok = sum(1 for sub in s[key] if not any(True for _ in self._check(sub, v, at)))
                if ok == 0 or key == "oneOf" and ok > 1:
                    yield f"{at}: matches {ok} of the {key} branches"
        if isinstance(v, dict):
            props = s.get("properties", {})
            for r in s.get("required", []):
                if r not in v:
                    yield f"{at}: missing {r}"
            for k, x in v.items():
                if k in props:
                    yield from self._check(props[k], x, f"{at}.{k}")
                elif "additionalProperties" in s:
                    yield from self._check(s["additionalProperties"], x, f"{at}.{k}")
        if isinstance(v, list):
            pre = s.get("prefixItems", [])
            if len(v) < s.get("minItems", 0):
                yield f"{at}: too few items"
            for i, x in enumerate(v):
                sub = pre[i] if i < len(pre) else s.get("items", True)
                yield from self._check(sub, x, f"{at}[{i}]")


class Both:
    """Errors from every validator given (the minimal one, and `jsonschema` when installed)."""

    def __init__(self, validators):
        self.validators = validators

    def iter_errors(self, value):
        for v in self.validators:
            for e in v.iter_errors(value):
                yield getattr(e, "message", e)


def load_schemas(root):
    sdir = root.parent / "docs" / "schema"
    try:
        import jsonschema
    except ImportError:
        jsonschema = None
        print("schemas: checked by the built-in validator (pip install jsonschema adds the reference one)")
    out = {}
    for name in ("ruleset", "decide-input", "decide-output"):
        schema = json.loads((sdir / f"{name}.schema.json").read_text())
        validators = [MiniValidator(schema)]
        if jsonschema is not None:
            jsonschema.Draft202012Validator.check_schema(schema)
            validators.append(jsonschema.Draft202012Validator(schema))
        out[name] = Both(validators)
    return out


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "conformance").resolve()
    schemas = load_schemas(root)
    agreed, bad = 0, []

    def check(name, ok, detail=""):
        nonlocal agreed
        if ok:
            agreed += 1
        else:
            bad.append(f"{name}: {detail}")

    for path in sorted((root / "cases").glob("*.json")):
        doc = json.loads(path.read_text())
        rs = json.loads((root / doc["ruleset"]).read_text())
        errs = list(schemas["ruleset"].iter_errors(rs))
        if errs or read_refusal(rs) or verify_errors(rs):
            bad.append(f"{doc['ruleset']}: refused ({errs[:1]}, {read_refusal(rs)}, {verify_errors(rs)})")
            continue
        stored = rs.get("checksum")
        mine = checksum(rs)
        check(f"{doc['ruleset']} checksum", stored is not None and stored["content"] == mine["content"]
              and stored["sections"] == mine["sections"], f"stored {stored}, computed {mine}")
        for case in doc["cases"]:
            name = f"{path.name} / {case['name']}"
            session = case.get("session", {})
            for schema, value in (("decide-input", {"profile": case["profile"], "session": session}),):
                e = list(schemas[schema].iter_errors(value))
                if e:
                    bad.append(f"{name}: the input schema refuses it: {e[0]}")
            want = case["expect"]
            if "output" in want:
                e = list(schemas["decide-output"].iter_errors(want["output"]))
                if e:
                    bad.append(f"{name}: the output schema refuses it: {e[0]}")
            try:
                got = {"output": decide(rs, case["profile"], session)}
            except RuleError as e:
                got = {"error": {"error": e.kind, **e.fields}}
            if "error" in want:
                w = {k: v for k, v in want["error"].items() if k != "message"}
                check(name, got == {"error": w}, f"want {w}, got {got}")
            else:
                check(name, got == want, first_difference(want, got))
    for entry in json.loads((root / "refused" / "index.json").read_text()):
        rs = json.loads((root / entry["file"]).read_text())
        schema_errors = list(schemas["ruleset"].iter_errors(rs))
        if schema_errors or read_refusal(rs):
            stage = "read"
        elif verify_errors(rs):
            stage = "verify"
        else:
            stage = "accepted"
        check(entry["file"], stage == entry["stage"], f"refused at {stage}, want {entry['stage']}")
    for line in bad[:20]:
        print("DISAGREE", line)
    print(f"cases agreed: {agreed}")
    print(f"disagreements: {len(bad)}")
    sys.exit(1 if bad else 0)


def first_difference(want, got, path="$"):
    if type(want) is not type(got):
        return f"{path}: want {json.dumps(want)[:300]}, got {json.dumps(got)[:300]}"
    if isinstance(want, dict):
        for k in list(want) + [k for k in got if k not in want]:
            if want.get(k) != got.get(k):
                return first_difference(want.get(k), got.get(k), f"{path}.{k}")
    if isinstance(want, list):
        if len(want) != len(got):
            return f"{path}: {len(want)} items wanted, got {len(got)}: {json.dumps(got)[:300]}"
        for i, (a, b) in enumerate(zip(want, got)):
            if a != b:
                return first_difference(a, b, f"{path}[{i}]")
    return f"{path}: want {json.dumps(want)[:300]}, got {json.dumps(got)[:300]}"


if __name__ == "__main__":
    main()
