"""Reads the log of shop.py: what the workers did, and whether it adds up.

    python report.py actions LOG [FROM [TO]]
        the log's events from line FROM to line TO (1-based, inclusive), for people
    python report.py summary LOG ORDERS [--declined IDS] [--out-of-stock IDS]
                                        [--undeliverable IDS]
        each order's final state; exits 1 unless every order order-1 ...
        order-ORDERS ended consistent and as its refusals say, and no call
        id was acted on twice

An order is consistent when it ended in one of these states:
  shipped      charged, reserved, shipped; nothing undone
  declined     the charge refused; nothing else done
  refunded     charged, the reservation refused, the charge refunded
  released     charged, reserved, the shipment refused, stock released, charge refunded
"""

import argparse
import json
import sys
from collections import Counter, defaultdict

# The subjects an order's state is made of, in the order of its steps.
STEPS = ["billing.charge", "stock.reserve", "shipping.ship", "stock.release", "billing.refund"]

# (done, refused) of each step -> the state's name: a step is "done" when
# the worker acted and said yes, "refused" when it acted and said no.
STATES = {
    (("billing.charge", "stock.reserve", "shipping.ship"), ()): "shipped",
    ((), ("billing.charge",)): "declined",
    (("billing.charge", "billing.refund"), ("stock.reserve",)): "refunded",
    (("billing.charge", "stock.reserve", "stock.release", "billing.refund"),
     ("shipping.ship",)): "released",
}


def events(path):
    with open(path) as log:
        return [json.loads(line) for line in log if line.strip()]


def actions(path, start=1, end=None):
    for number, e in enumerate(events(path), 1):
        if number < start or (end is not None and number > end) or e["event"] == "asked":
            continue
        what = "acted on " if e["event"] == "acted" else "repeated "
        outcome = "ok" if e["ok"] else "refused"
        note = ""
        if e["event"] == "repeat":
            note = "  (same call id, answered from the first outcome, not done again)"
        print(f"  {what}{e['subject']:<15} {e['order']:<9} attempt {e['attempt']}: {outcome}{note}")


def ids(text):
    return {i for i in text.split(",") if i}


def summary(args):
    logged = events(args.log)
    acted_per_id = Counter(e["id"] for e in logged if e["event"] == "acted")
    repeats = sum(1 for e in logged if e["event"] == "repeat")
    done = defaultdict(list)
    refused = defaultdict(list)
    for e in logged:
        if e["event"] == "acted":
            (done if e["ok"] else refused)[e["order"]].append(e["subject"])
    expected = {}
    for n in range(1, args.orders + 1):
        order = f"order-{n}"
        expected[order] = ("declined" if order in args.declined
                           else "refunded" if order in args.out_of_stock
                           else "released" if order in args.undeliverable
                           else "shipped")
    good = True
    print(f"  {'order':<9} {'state':<9} {'expected':<9} actions (refused in brackets)")
    for order, want in expected.items():
        # Sorted by step, so that the state does not depend on timing.
        key = (tuple(s for s in STEPS if s in done[order]),
               tuple(s for s in STEPS if s in refused[order]))
        twice = [s for s in STEPS if done[order].count(s) + refused[order].count(s) > 1]
        state = STATES.get(key, "BROKEN")
        steps = [s if s in done[order] else f"[{s}]" for s in STEPS
                 if s in done[order] or s in refused[order]]
        mark = "ok" if state == want and not twice else "WRONG"
        good &= mark == "ok"
        extra = f"  {', '.join(twice)} done twice" if twice else ""
        print(f"  {order:<9} {state:<9} {want:<9} {' '.join(steps)}{extra}  {mark}")
    twice = [i for i, n in acted_per_id.items() if n > 1]
    print(f"  {sum(acted_per_id.values())} actions for {len(acted_per_id)} call ids; "
          f"{len(twice)} call ids acted on twice; "
          f"{repeats} requests repeated after the crash, answered without acting")
    good &= not twice
    print("  every order is consistent, each action done once" if good
          else "  SOMETHING IS WRONG")
    return 0 if good else 1


def main():
    if sys.argv[1:2] == ["actions"]:
        rest = [int(a) for a in sys.argv[3:5]]
        actions(sys.argv[2], *rest)
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["summary"])
    parser.add_argument("log")
    parser.add_argument("orders", type=int)
    parser.add_argument("--declined", type=ids, default=set())
    parser.add_argument("--out-of-stock", type=ids, default=set())
    parser.add_argument("--undeliverable", type=ids, default=set())
    return summary(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
