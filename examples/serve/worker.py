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
"""

import argparse
import asyncio
import os
import signal

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
    in_flight = set()

    async def answer(msg):
        try:
            result = await table[msg.subject](decode(msg.data), msg.headers)
            await nc.publish(msg.reply, msgpack.packb(result))
        except Failure as e:
            headers = {"Nats-Service-Error": e.message, "Nats-Service-Error-Code": e.code,
                       "Calf-Retryable": "false"}
            await nc.publish(msg.reply, b"", headers=headers)
        except Exception as e:  # a bug or bad input: say so, and let the caller retry
            headers = {"Nats-Service-Error": repr(e), "Nats-Service-Error-Code": "500"}
            await nc.publish(msg.reply, b"", headers=headers)

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
