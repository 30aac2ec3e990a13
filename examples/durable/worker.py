"""A worker that acts on each call once, however often it is asked.

    python worker.py NATS_URL LOG_FILE [DELAY_MS]

Answers `durable.step` (a number n -> n + 1) after DELAY_MS milliseconds
(default 200). Every request is appended to LOG_FILE as a JSON line
{"id": Calf-Call-Id, "attempt": Calf-Attempt, "payload": n, "answer": ...,
"acted": true|false}: the first request of an id is acted on, and a
repeated id (a call made again by a durable process restored after a crash)
gets the first answer back without acting again. This is the idempotency a
worker owes a durable caller (docs/durability.md).
"""

import asyncio
import json
import os
import signal
import sys

import msgpack
import nats


async def report_error(error):
    """One line per connection error (a server gone, a reconnect refused),
    rather than the traceback nats-py logs by default: it reconnects."""
    print("NATS: %s" % (str(error) or type(error).__name__), file=sys.stderr, flush=True)


async def main():
    url, log_path = sys.argv[1], sys.argv[2]
    delay = int(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0.2
    nc = await nats.connect(url, error_cb=report_error)
    answers = {}
    log = open(log_path, "a", buffering=1)

    async def answer(msg):
        call_id = msg.headers.get("Calf-Call-Id") if msg.headers else None
        attempt = msg.headers.get("Calf-Attempt") if msg.headers else None
        n = msgpack.unpackb(msg.data)
        # The first request of an id acts; a repeat, even one that comes
        # while the first is still at work, waits for the first's answer.
        acted = call_id not in answers
        if acted:
            answers[call_id] = asyncio.get_running_loop().create_future()
            await asyncio.sleep(delay)
            answers[call_id].set_result(n + 1)
        result = await answers[call_id]
        log.write(json.dumps({"id": call_id, "attempt": attempt, "payload": n,
                              "answer": result, "acted": acted}) + "\n")
        await nc.publish(msg.reply, msgpack.packb(result))

    async def on_message(msg):
        asyncio.create_task(answer(msg))

    await nc.subscribe("durable.step", queue="calf", cb=on_message)
    await nc.flush()
    print("serving durable.step", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await nc.drain()


if __name__ == "__main__":
    asyncio.run(main())
