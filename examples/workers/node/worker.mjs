// A Calf worker in Node: plain NATS request/reply and MessagePack, no SDK.
//
//   node worker.mjs [NATS_URL]      (default: $NATS_URL, else nats://127.0.0.1:4222)
//
// Answers four subjects in the queue group "calf":
//   math.add  [a, b]       -> a + b
//   echo      any value    -> the same value (Calf's ext types pass through)
//   fail      {code, message, retryable, data}
//                          -> an error reply with that code (only code is needed)
//   slow      ms           -> sleeps ms milliseconds, then answers ms
// On SIGTERM or ctrl-c it stops taking requests, answers the ones it has, and exits.

import { connect, headers } from "nats";
import { decode, encode } from "@msgpack/msgpack";

// 64-bit ints arrive as BigInt, so they stay exact.
const codec = { useBigInt64: true };

class Failure extends Error {
  constructor(code, message, retryable, data) {
    super(String(message));
    Object.assign(this, { code, retryable, data });
  }
}

const handlers = {
  "math.add": ([a, b]) =>
    typeof a === "bigint" || typeof b === "bigint" ? BigInt(a) + BigInt(b) : a + b,
  echo: (value) => value,
  fail: ({ code, message = "failed", retryable, data = null }) => {
    if (code === undefined) throw new Error("fail needs a code");
    throw new Failure(code, message, retryable, data);
  },
  slow: async (ms) => {
    await new Promise((resolve) => setTimeout(resolve, Number(ms)));
    return ms;
  },
};

async function answer(msg, handler) {
  try {
    const body = msg.data.length ? decode(msg.data, codec) : null;
    msg.respond(encode(await handler(body), codec));
  } catch (e) {
    const h = headers();
    h.set("Nats-Service-Error", e.message.replace(/[\r\n]/g, " "));
    if (e instanceof Failure) {
      h.set("Nats-Service-Error-Code", String(e.code));
      if (e.retryable !== undefined) h.set("Calf-Retryable", String(!!e.retryable));
      msg.respond(encode(e.data, codec), { headers: h });
    } else {
      // A bug or bad input: say so, and let the caller retry.
      h.set("Nats-Service-Error-Code", "500");
      msg.respond(new Uint8Array(), { headers: h });
    }
  }
}

const url = process.argv[2] ?? process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const nc = await connect({ servers: url });
const inFlight = new Set();
const subs = Object.entries(handlers).map(([subject, handler]) =>
  nc.subscribe(subject, {
    queue: "calf",
    callback: (err, msg) => {
      if (err) return;
      const task = answer(msg, handler).finally(() => inFlight.delete(task));
      inFlight.add(task);
    },
  }),
);
await nc.flush();
console.log(`serving ${Object.keys(handlers).join(", ")} on ${url}`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  // No new requests; those already received are still delivered and answered.
  await Promise.all(subs.map((sub) => sub.drain()));
  await Promise.all(inFlight);
  await nc.drain();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
await nc.closed();
