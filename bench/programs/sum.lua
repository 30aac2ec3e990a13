-- The sum of 1..n in a loop.
local function sum_to(n)
  local acc = 0
  for i = 1, n do acc = acc + i end
  return acc
end

local n = math.tointeger(tonumber(arg[1]))
local start = os.clock()
local result = sum_to(n)
print(result)
print("elapsed-ms", math.floor((os.clock() - start) * 1000 + 0.5))
