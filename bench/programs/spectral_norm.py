# spectral-norm (the Computer Language Benchmarks Game): the spectral norm
# of the infinite matrix A, a(i,j) = 1/((i+j)(i+j+1)/2 + i + 1), cut to
# n x n, by the power method: ten times u = AtA v, v = AtA u from u = 1,
# then sqrt(u.v / v.v), printed to nine decimals.
import math
import sys
import time


def a(i, j):
    return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)


def times(u):
    n = len(u)
    return [sum(a(i, j) * u[j] for j in range(n)) for i in range(n)]


def times_transposed(u):
    n = len(u)
    return [sum(a(j, i) * u[j] for j in range(n)) for i in range(n)]


def times_at_a(u):
    return times_transposed(times(u))


def spectral_norm(n):
    u = [1.0] * n
    for _ in range(10):
        v = times_at_a(u)
        u = times_at_a(v)
    vbv = sum(ue * ve for ue, ve in zip(u, v))
    vv = sum(ve * ve for ve in v)
    return math.sqrt(vbv / vv)


n = int(sys.argv[1])
start = time.perf_counter()
print("%.9f" % spectral_norm(n))
print("elapsed-ms", round((time.perf_counter() - start) * 1000))
