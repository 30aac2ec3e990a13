# fib(n) by naive recursion.
import sys
import time


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


n = int(sys.argv[1])
start = time.perf_counter()
result = fib(n)
print(result)
print("elapsed-ms", round((time.perf_counter() - start) * 1000))
