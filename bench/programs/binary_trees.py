# binary-trees (the Computer Language Benchmarks Game): builds perfect
# binary trees bottom-up and walks them to count their nodes. A stretch tree
# of depth max+1, then a long-lived tree of depth max that stays while
# 2^(max-d+4) trees of each depth d = 4, 6, ... max are built and dropped.
# A node is a pair (left, right); a leaf is (None, None). Depth max is the
# argument (at least 6).
import sys
import time

MIN_DEPTH = 4


def make(depth):
    if depth == 0:
        return (None, None)
    depth -= 1
    return (make(depth), make(depth))


def check(node):
    left, right = node
    if left is None:
        return 1
    return 1 + check(left) + check(right)


def main(n):
    max_depth = max(MIN_DEPTH + 2, n)
    stretch = max_depth + 1
    print("stretch tree of depth %d\t check: %d" % (stretch, check(make(stretch))))
    long_lived = make(max_depth)
    for depth in range(MIN_DEPTH, max_depth + 1, 2):
        iterations = 2 ** (max_depth - depth + MIN_DEPTH)
        total = 0
        for _ in range(iterations):
            total += check(make(depth))
        print("%d\t trees of depth %d\t check: %d" % (iterations, depth, total))
    print("long lived tree of depth %d\t check: %d" % (max_depth, check(long_lived)))


n = int(sys.argv[1])
start = time.perf_counter()
main(n)
print("elapsed-ms", round((time.perf_counter() - start) * 1000))
