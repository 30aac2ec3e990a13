"""The shop's workers for order.calf: billing, stock and shipping.

    python shop.py NATS_URL LOG_FILE [--delay-ms MS] [--declined IDS]
                   [--out-of-stock IDS] [--undeliverable IDS]

IDS is a comma-separated list of order ids. Serves, in the queue group "calf":

  billing.charge  {"order", "amount"} -> {"charge": ...}   refused for --declined
  billing.refund  {"order", "charge"} -> {"refund": ...}
  stock.reserve   {"order", "item", "qty"} -> {"reservation": ...}
                                                          refused for --out-of-stock
  stock.release   {"order", "reservation"} -> {"released": ...}
  shipping.ship   {"order", "item"} -> {"tracking": ...}  refused for --undeliverable

A refusal is a business error (code "card-declined", "out-of-stock" or
"undeliverable", Calf-Retryable: false): the caller must compensate, not
retry. Each action takes MS milliseconds (default 100), one at a time, so
that a crash "after N actions" falls between two of them.

Idempotent by Calf-Call-Id: the first request of an id is acted on, and
every later request of that id (a call made again by a durable process
restored after a crash, or a retry) gets the first outcome back without
acting again, even while the first is still being acted on. The outcomes
are kept in LOG_FILE, which is read back at start, so a restarted worker
stays idempotent too.

LOG_FILE gets one JSON line per event:
  {"event": "asked", "subject", "id", "attempt", "order"}     a request arrived
  {"event": "acted", ..., "ok": true|false, "result": ...}    acted on, once per id
  {"event": "repeat", ..., "ok": ...}                          answered from the first outcome
"""

import argparse
import asyncio
import json
import signal
import sys

import msgpack
import nats


def ids(text):
    return {i for i in text.split(",") if i}


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("log")
    parser.add_argument("--delay-ms", type=int, default=100)
    parser.add_argument("--declined", type=ids, default=set())
    parser.add_argument("--out-of-stock", type=ids, default=set())
    parser.add_argument("--undeliverable", type=ids, default=set())
    return parser.parse_args()


class Refused(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def handlers(args):
    def charge(body):
        if body["order"] in args.declined:
            raise Refused("card-declined", f"card declined for {body['order']}")
        return {"charge": f"ch-{body['order']}", "amount": body["amount"]}

    def refund(body):
        return {"refund": f"re-{body['charge']}"}

    def reserve(body):
        if body["order"] in args.out_of_stock:
            raise Refused("out-of-stock", f"no {body['item']} left for {body['order']}")
        return {"reservation": f"rs-{body['order']}", "item": body["item"]}

    def release(body):
        return {"released": body["reservation"]}

    def ship(body):
        if body["order"] in args.undeliverable:
            raise Refused("undeliverable", f"cannot deliver {body['order']}")
        return {"tracking": f"tr-{body['order']}"}

    return {
        "billing.charge": charge,
        "billing.refund": refund,
        "stock.reserve": reserve,
        "stock.release": release,
        "shipping.ship": ship,
    }


def outcomes_logged(path):
    """The outcomes acted on before, by call id: what a restart must not redo."""
    known = {}
    try:
        with open(path) as log:
            for line in log:
                entry = json.loads(line)
                if entry["event"] == "acted":
                    known[entry["id"]] = (entry["ok"], entry["result"])
    except FileNotFoundError:
        pass
    return known


async def report_error(error):
    """One line per connection error (a server gone, a reconnect refused),
    rather than the traceback nats-py logs by default: it reconnects."""
    print("NATS: %s" % (str(error) or type(error).__name__), file=sys.stderr, flush=True)


async def main():
    args = parse_args()
    nc = await nats.connect(args.url, error_cb=report_error)
    serving = handlers(args)
    # A call id maps to the future of its one outcome: (ok, result).
    outcomes = {}
    for call_id, outcome in outcomes_logged(args.log).items():
        done = asyncio.get_running_loop().create_future()
        done.set_result(outcome)
        outcomes[call_id] = done
    log = open(args.log, "a", buffering=1)
    in_flight = set()

    def write(event, msg, call_id, attempt, order, **more):
        log.write(json.dumps({"event": event, "subject": msg.subject, "id": call_id,
                              "attempt": attempt, "order": order, **more}) + "\n")

    one_at_a_time = asyncio.Lock()

    async def act(msg, call_id, attempt, order, body):
        async with one_at_a_time:
            await asyncio.sleep(args.delay_ms / 1000)
            try:
                ok, result = True, serving[msg.subject](body)
            except Refused as e:
                ok, result = False, {"code": e.code, "message": e.message}
            write("acted", msg, call_id, attempt, order, ok=ok, result=result)
            return ok, result

    async def answer(msg):
        headers = msg.headers or {}
        call_id = headers.get("Calf-Call-Id")
        attempt = headers.get("Calf-Attempt")
        body = msgpack.unpackb(msg.data, strict_map_key=False)
        order = body.get("order") if isinstance(body, dict) else None
        write("asked", msg, call_id, attempt, order)
        if call_id in outcomes:
            ok, result = await outcomes[call_id]
            write("repeat", msg, call_id, attempt, order, ok=ok)
        else:
            outcomes[call_id] = asyncio.ensure_future(act(msg, call_id, attempt, order, body))
            ok, result = await outcomes[call_id]
        if ok:
            await nc.publish(msg.reply, msgpack.packb(result))
        else:
            await nc.publish(msg.reply, b"", headers={
                "Nats-Service-Error": result["message"],
                "Nats-Service-Error-Code": result["code"],
                "Calf-Retryable": "false",
            })

    async def on_message(msg):
        # One callback at a time per subscription: answer in a task, so a
        # slow action does not hold the others up.
        task = asyncio.create_task(answer(msg))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)

    subs = [await nc.subscribe(s, queue="calf", cb=on_message) for s in serving]
    await nc.flush()
    print(f"serving {', '.join(serving)}", flush=True)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    for sub in subs:
        await sub.drain()
    await asyncio.gather(*in_flight, return_exceptions=True)
    await nc.drain()


if __name__ == "__main__":
    asyncio.run(main())
