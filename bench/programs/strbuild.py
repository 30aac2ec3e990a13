# Builds "item-0,item-1,...": n small strings joined into one.
import sys
import time


def build(n):
    parts = []
    for i in range(n):
        parts.append(f"item-{i}")
    return ",".join(parts)


n = int(sys.argv[1])
start = time.perf_counter()
s = build(n)
print(len(s), s[-12:])
print("elapsed-ms", round((time.perf_counter() - start) * 1000))
