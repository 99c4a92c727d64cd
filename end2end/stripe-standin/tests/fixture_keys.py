#!/usr/bin/env python3
"""Derives tests/fixture_keys.json from Stripe's published example objects.

For every resource the stand-in emits, the sorted list of top-level field
names of Stripe's example object (stripe/openapi fixtures, MIT). Only these
derived facts are committed; the tests check every emitted object has
exactly these keys, and (when ../shared is present) that this file is
still what the fixtures say.

Usage: python3 end2end/stripe-standin/tests/fixture_keys.py [FIXTURES_JSON]
(default: ../shared/specs/stripe-fixtures3.json next to the workspace root).
"""
import json
import os
import sys

RESOURCES = [
    "billing_portal.session",
    "charge",
    "checkout.session",
    "customer",
    "dispute",
    "event",
    "invoice",
    "invoice_payment",
    "line_item",
    "payment_intent",
    "plan",
    "price",
    "product",
    "refund",
    "subscription",
    "subscription_item",
]

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
DEFAULT = os.path.join(ROOT, "..", "shared", "specs", "stripe-fixtures3.json")


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    with open(source, encoding="utf-8") as f:
        resources = json.load(f)["resources"]
    out = {
        "source": "stripe-fixtures3.json: Stripe's example object per resource (stripe/openapi, MIT)",
        "resources": {name: sorted(resources[name].keys()) for name in RESOURCES},
    }
    target = os.path.join(HERE, "fixture_keys.json")
    with open(target, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
