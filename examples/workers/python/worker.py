"""A Calf worker in Python: plain NATS request/reply and MessagePack, no SDK.

    python worker.py [NATS_URL]      (default: $NATS_URL, else nats://127.0.0.1:4222)

Answers four subjects in the queue group "calf":
  math.add  [a, b]       -> a + b
  echo      any value    -> the same value (Calf's ext types pass through)
  fail      {"code": ..., "message": ..., "retryable": ..., "data": ...}
                          -> an error reply with that code (only "code" is needed)
  slow      ms           -> sleeps ms milliseconds, then answers ms
On SIGTERM or ctrl-c it stops taking requests, answers the ones it has, and exits.
"""

import asyncio
import os
import signal
import sys

import msgpack
import nats


def decode(data):
    # Calf sends maps with non-string keys too (ints, ext values).
    return msgpack.unpackb(data, strict_map_key=False) if data else None


async def math_add(body):
    a, b = body
    return a + b


async def echo(body):
    return body


async def slow(ms):
    await asyncio.sleep(ms / 1000)
    return ms


class Failure(Exception):
    def __init__(self, code, message, retryable, data):
        super().__init__(message)
        self.code, self.message, self.retryable, self.data = code, message, retryable, data


async def fail(spec):
    raise Failure(spec["code"], spec.get("message", "failed"), spec.get("retryable"), spec.get("data"))


HANDLERS = {"math.add": math_add, "echo": echo, "fail": fail, "slow": slow}


async def report_error(error):
    """One line per connection error (a server gone, a reconnect refused),
    rather than the traceback nats-py logs by default: it reconnects."""
    print("NATS: %s" % (str(error) or type(error).__name__), file=sys.stderr, flush=True)


async def main():
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("NATS_URL", "nats://127.0.0.1:4222")
    nc = await nats.connect(url, error_cb=report_error)
    in_flight = set()

    async def answer(msg):
        handler = HANDLERS[msg.subject]
        try:
            reply = msgpack.packb(await handler(decode(msg.data)))
            await nc.publish(msg.reply, reply)
        except Failure as e:
            headers = {"Nats-Service-Error": str(e.message), "Nats-Service-Error-Code": str(e.code)}
            if e.retryable is not None:
                headers["Calf-Retryable"] = "true" if e.retryable else "false"
            await nc.publish(msg.reply, msgpack.packb(e.data), headers=headers)
        except Exception as e:  # a bug or bad input: say so, and let the caller retry
            headers = {"Nats-Service-Error": repr(e), "Nats-Service-Error-Code": "500"}
            await nc.publish(msg.reply, b"", headers=headers)

    async def on_message(msg):
        # nats-py runs one callback at a time per subscription: answer in a
        # task so that a slow request does not hold up the others.
        task = asyncio.create_task(answer(msg))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)

    subs = [await nc.subscribe(s, queue="calf", cb=on_message) for s in HANDLERS]
    await nc.flush()
    print(f"serving {', '.join(HANDLERS)} on {url}", flush=True)

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
