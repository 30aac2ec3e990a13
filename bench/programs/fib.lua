-- fib(n) by naive recursion.
local function fib(n)
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end

local n = math.tointeger(tonumber(arg[1]))
local start = os.clock()
local result = fib(n)
print(result)
print("elapsed-ms", math.floor((os.clock() - start) * 1000 + 0.5))
