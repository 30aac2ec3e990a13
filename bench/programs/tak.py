# tak(18, 12, 6), repeated; prints the sum of the results.
import sys
import time


def tak(x, y, z):
    if y < x:
        return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y))
    return z


times = int(sys.argv[1])
start = time.perf_counter()
result = 0
for _ in range(times):
    result += tak(18, 12, 6)
print(result)
print("elapsed-ms", round((time.perf_counter() - start) * 1000))
