-- binary-trees (the Computer Language Benchmarks Game): builds perfect
-- binary trees bottom-up and walks them to count their nodes. A stretch tree
-- of depth max+1, then a long-lived tree of depth max that stays while
-- 2^(max-d+4) trees of each depth d = 4, 6, ... max are built and dropped.
-- A node is a table {left, right}; a leaf is {}. Depth max is the argument
-- (at least 6).
local MIN_DEPTH = 4

local function make(depth)
  if depth == 0 then return {} end
  depth = depth - 1
  return { make(depth), make(depth) }
end

local function check(node)
  local left = node[1]
  if not left then return 1 end
  return 1 + check(left) + check(node[2])
end

local function main(n)
  local max_depth = math.max(MIN_DEPTH + 2, n)
  local stretch = max_depth + 1
  print(string.format("stretch tree of depth %d\t check: %d", stretch, check(make(stretch))))
  local long_lived = make(max_depth)
  for depth = MIN_DEPTH, max_depth, 2 do
    local iterations = 1 << (max_depth - depth + MIN_DEPTH)
    local total = 0
    for _ = 1, iterations do
      total = total + check(make(depth))
    end
    print(string.format("%d\t trees of depth %d\t check: %d", iterations, depth, total))
  end
  print(string.format("long lived tree of depth %d\t check: %d", max_depth, check(long_lived)))
end

local n = math.tointeger(tonumber(arg[1]))
local start = os.clock()
main(n)
print("elapsed-ms", math.floor((os.clock() - start) * 1000 + 0.5))
