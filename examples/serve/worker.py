"""A tenant's worker for `calf serve`: plain NATS request/reply and
MessagePack (the protocol of docs/protocol.md, handled as in
examples/workers/python/worker.py), logged in as one of the tenant's users.

    python worker.py --user acme-dev --password dev-acme [--nats URL] [--tenant NAME]

Each option has an environment variable instead: CALF_NATS_USER,
CALF_NATS_PASSWORD, CALF_NATS_URL (default nats://127.0.0.1:4222) and
CALF_TENANT (default: the user name up to its last "-", so acme-dev is
acme's). The user decides the account, and so the tenant: the worker
answers only that tenant's calls.

Answers two subjects in the queue group "calf":
  greet     name (or nil)     -> "hello, NAME, from TENANT"
  slow-add  [a, b] or [a, b, ms] -> a + b, after ms milliseconds (default 500)
On SIGTERM or ctrl-c it stops taking requests, answers the ones it has, and exits.

Tracing: every request from Calf carries a W3C `traceparent` header (the
call's trace id and span id, docs/protocol.md). With --trace FILE (env
CALF_WORKER_TRACE) the worker writes a span per request to FILE, one JSON
line each, as the child of the call's span: the same fields as the spans
`calf serve --trace` writes, so the two files join on trace_id. A worker
that uses OpenTelemetry does the same with
`opentelemetry.propagate.extract(msg.headers)` as its span's context.
"""

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import time

import msgpack
import nats


def decode(data):
    # Calf sends maps with non-string keys too (ints, ext values).
    return msgpack.unpackb(data, strict_map_key=False) if data else None


class Failure(Exception):
    """An error reply: the caller's call throws it with this code."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


def parent_of(headers):
    """The (trace id, span id) a request's traceparent names, or None."""
    value = next((v for k, v in (headers or {}).items() if k.lower() == "traceparent"), None)
    found = TRACEPARENT.match(value.strip().lower()) if value else None
    if not found or found.group(1) == "ff" or set(found.group(2)) == {"0"} or set(found.group(3)) == {"0"}:
        return None
    return found.group(2), found.group(3)


class Spans:
    """The trace file: a span per request, one JSON line each."""

    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8") if path else None

    def write(self, subject, headers, start_ns, outcome):
        parent = parent_of(headers)
        if self.file is None or parent is None:
            return
        trace_id, parent_span_id = parent
        span = {
            "trace_id": trace_id, "span_id": secrets.token_hex(8), "parent_span_id": parent_span_id,
            "name": subject, "kind": "server", "service": "worker.py",
            "start_time_unix_nano": str(start_ns), "end_time_unix_nano": str(time.time_ns()),
            "status": "ok" if outcome == "ok" else "error",
            "attributes": {"calf.outcome": outcome,
                           "calf.call_id": (headers or {}).get("Calf-Call-Id"),
                           "calf.attempt": (headers or {}).get("Calf-Attempt")},
        }
        self.file.write(json.dumps(span) + "\n")
        self.file.flush()


def handlers(tenant):
    async def greet(name, headers):
        # Under calf serve the scheduler names the tenant in Calf-Tenant;
        # the account is what keeps tenants apart, the header only names it.
        who = (headers or {}).get("Calf-Tenant", tenant)
        return f"hello, {name if name is not None else 'you'}, from {who}"

    async def slow_add(args, _headers):
        if not isinstance(args, list) or len(args) not in (2, 3):
            raise Failure("bad-args", "slow-add takes [a, b] or [a, b, ms]")
        a, b, *rest = args
        await asyncio.sleep((rest[0] if rest else 500) / 1000)
        return a + b

    return {"greet": greet, "slow-add": slow_add}


def options():
    parser = argparse.ArgumentParser(description="A tenant's worker for calf serve.")
    parser.add_argument("--nats", default=os.environ.get("CALF_NATS_URL", "nats://127.0.0.1:4222"),
                        help="the NATS server (env CALF_NATS_URL)")
    parser.add_argument("--user", default=os.environ.get("CALF_NATS_USER"),
                        help="one of the tenant's users in calf.toml (env CALF_NATS_USER)")
    parser.add_argument("--password", default=os.environ.get("CALF_NATS_PASSWORD"),
                        help="its password (env CALF_NATS_PASSWORD)")
    parser.add_argument("--tenant", default=os.environ.get("CALF_TENANT"),
                        help="the tenant's name, for greetings (env CALF_TENANT)")
    parser.add_argument("--trace", default=os.environ.get("CALF_WORKER_TRACE"),
                        help="write a span per request to this file, JSON lines (env CALF_WORKER_TRACE)")
    args = parser.parse_args()
    if not args.user or args.password is None:
        parser.error("give --user and --password (or CALF_NATS_USER and CALF_NATS_PASSWORD)")
    if not args.tenant:
        args.tenant = args.user.rsplit("-", 1)[0]
    return args


async def main():
    args = options()
    nc = await nats.connect(args.nats, user=args.user, password=args.password,
                            allow_reconnect=True, max_reconnect_attempts=-1)
    table = handlers(args.tenant)
    spans = Spans(args.trace)
    in_flight = set()

    async def answer(msg):
        start_ns, outcome = time.time_ns(), "ok"
        try:
            result = await table[msg.subject](decode(msg.data), msg.headers)
            await nc.publish(msg.reply, msgpack.packb(result))
        except Failure as e:
            outcome = e.code
            headers = {"Nats-Service-Error": e.message, "Nats-Service-Error-Code": e.code,
                       "Calf-Retryable": "false"}
            await nc.publish(msg.reply, b"", headers=headers)
        except Exception as e:  # a bug or bad input: say so, and let the caller retry
            outcome = "500"
            headers = {"Nats-Service-Error": repr(e), "Nats-Service-Error-Code": "500"}
            await nc.publish(msg.reply, b"", headers=headers)
        finally:
            spans.write(msg.subject, msg.headers, start_ns, outcome)

    async def on_message(msg):
        # Answer in a task, so that a slow request does not hold up the others.
        task = asyncio.create_task(answer(msg))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)

    subs = [await nc.subscribe(s, queue="calf", cb=on_message) for s in table]
    await nc.flush()
    print(f"serving {', '.join(table)} for {args.tenant} as {args.user} on {args.nats}", flush=True)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()

    for sub in subs:
        await sub.drain()  # no new requests; those already received still arrive
    await asyncio.gather(*in_flight, return_exceptions=True)
    await nc.drain()


if __name__ == "__main__":
    asyncio.run(main())
