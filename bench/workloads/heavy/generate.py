#!/usr/bin/env python3
"""Generates bench/workloads/heavy/input.json (committed; run once): 200 card transactions with
mixed-case merchants, e-mails (some invalid or disposable), IPs, masked cards, free-text
descriptions and timestamps with one burst. Deterministic (fixed seed)."""
import datetime
import json
import os
import random

rng = random.Random(20261126)
merchants = ["ACME Store #12", "acme-store 12", "Globex, Inc.", "Initech (online)", "Umbrella Corp",
             "Hooli  Market", "Stark Industries", "Wayne Ent.", "Soylent  Foods", "Tyrell/Corp"]
domains = ["example.com", "mail.example.org", "mailinator.com", "corp.example.net", "trashmail.com"]
words = ["gift", "card", "order", "refund", "crypto", "wallet", "shoes", "coffee", "books", "travel",
         "hotel", "ticket", "subscription", "music", "games", "voucher", "electronics", "phone"]
start = datetime.datetime(2026, 11, 20, 10, 0, 0)
transactions = []
for i in range(200):
    # A burst of 15 transactions inside one minute around item 120; the rest every ~20 s.
    seconds = i * 20 if not 120 <= i < 135 else 120 * 20 + (i - 120) * 3
    user = "user%03d" % rng.randrange(60)
    email = "%s.%s@%s" % (user, rng.choice(["a", "b", "c"]), rng.choice(domains))
    if i % 37 == 5:
        email = "not-an-email-%d" % i
    transactions.append({
        "id": "tx_%05d" % i,
        "time": (start + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "amount": round(rng.lognormvariate(3.5, 0.8) if i % 50 != 7 else 4000 + rng.random() * 100, 2),
        "currency": rng.choice(["USD", "usd", "EUR", " eur "]),
        "merchant": rng.choice(merchants),
        "email": ("  " if i % 3 == 0 else "") + (email.upper() if i % 7 == 0 else email),
        "ip": "%d.%d.%d.%d" % (rng.choice([10, 192, 73, 81]), rng.randrange(256), rng.randrange(256),
                               rng.randrange(1, 255)),
        "card": "%06d******%04d" % (rng.choice([411111, 550000, 378282]), rng.randrange(10000)),
        "description": " ".join(rng.choice(words) for _ in range(rng.randrange(4, 12))).capitalize(),
    })
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "input.json")
with open(out, "w") as f:
    json.dump({"account": {"reference-id": "user_40211", "country": "US"},
               "transactions": transactions}, f, indent=1)
    f.write("\n")
