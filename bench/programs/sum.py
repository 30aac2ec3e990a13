# The sum of 1..n in a loop.
import sys
import time


def sum_to(n):
    acc = 0
    for i in range(1, n + 1):
        acc += i
    return acc


n = int(sys.argv[1])
start = time.perf_counter()
result = sum_to(n)
print(result)
print("elapsed-ms", round((time.perf_counter() - start) * 1000))
