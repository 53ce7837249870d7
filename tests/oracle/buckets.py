"""Oracle for the rule set's variant / holdout bucketing (docs/ruleset-format.md, "bucket"), computed with
Python's hashlib, independently of the Rust code: SHA-256 of "purpose:rule_id:user_id", first 8 bytes
big-endian, modulo 10000. Writes tests/fixtures/rules/buckets.json."""
import hashlib
import json
import random

rng = random.Random(7)
cases = [("variant", "carousel", "u-1042"), ("holdout", "carousel", "u-1042"), ("variant", "r", "")]
for _ in range(200):
    purpose = rng.choice(["variant", "holdout"])
    rule = rng.choice(["carousel", "reengage", "welcome", "règle-ü", "a:b"])
    user = rng.choice([str(rng.randrange(10**12)), f"{rng.random():.10f}", "user-" + str(rng.randrange(1000)), "Ωmega"])
    cases.append((purpose, rule, user))
out = []
for purpose, rule, user in cases:
    h = hashlib.sha256(f"{purpose}:{rule}:{user}".encode("utf-8")).digest()
    out.append({"purpose": purpose, "rule": rule, "user": user, "bucket": int.from_bytes(h[:8], "big") % 10000})
with open("tests/fixtures/rules/buckets.json", "w") as f:
    json.dump(out, f, indent=0, ensure_ascii=False)
