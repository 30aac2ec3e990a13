# Builds an n-element list with append, then reduces it with +.
import functools
import operator
import sys
import time


def build(n):
    v = []
    for i in range(n):
        v.append(i)
    return v


n = int(sys.argv[1])
start = time.perf_counter()
v = build(n)
total = functools.reduce(operator.add, v, 0)
print(len(v), total)
print("elapsed-ms", round((time.perf_counter() - start) * 1000))
