# fannkuch-redux (the Computer Language Benchmarks Game): for every
# permutation of 0..n-1, in the order the site's programs generate them (a
# swap of the first two, else a swap of the second and third and a rotation
# chosen by a counter per position), counts the flips (reversals of the
# first p[0]+1 items) until 0 comes first. Prints the checksum (the flip
# counts summed with alternating signs) and the largest count.
import sys
import time


def count_flips(q):
    flips = 0
    k = q[0]
    while k != 0:
        q[:k + 1] = q[k::-1]
        flips += 1
        k = q[0]
    return flips


def fannkuch(n):
    p = list(range(n))
    s = list(range(n))
    sign = 1
    checksum = 0
    max_flips = 0
    while True:
        if p[0] != 0:
            flips = count_flips(p[:])
            checksum += sign * flips
            if flips > max_flips:
                max_flips = flips
        if sign == 1:
            p[0], p[1] = p[1], p[0]
            sign = -1
        else:
            p[1], p[2] = p[2], p[1]
            sign = 1
            for i in range(2, n):
                if s[i] != 0:
                    s[i] -= 1
                    break
                if i == n - 1:
                    return checksum, max_flips
                s[i] = i
                # Rotates the first i+2 items left by one.
                first = p[0]
                p[:i + 1] = p[1:i + 2]
                p[i + 1] = first


n = int(sys.argv[1])
start = time.perf_counter()
checksum, max_flips = fannkuch(n)
print(checksum)
print("Pfannkuchen(%d) = %d" % (n, max_flips))
print("elapsed-ms", round((time.perf_counter() - start) * 1000))
