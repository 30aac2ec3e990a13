# Stores n integer keys in a dict, then reads each back.
import sys
import time


def build(n):
    m = {}
    for i in range(n):
        m[i] = 2 * i
    return m


def read_back(m, n):
    acc = 0
    for i in range(n):
        acc += m[i]
    return acc


n = int(sys.argv[1])
start = time.perf_counter()
m = build(n)
total = read_back(m, n)
print(len(m), total)
print("elapsed-ms", round((time.perf_counter() - start) * 1000))
