-- tak(18, 12, 6), repeated; prints the sum of the results.
local function tak(x, y, z)
  if y < x then
    return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y))
  end
  return z
end

local times = math.tointeger(tonumber(arg[1]))
local start = os.clock()
local result = 0
for _ = 1, times do result = result + tak(18, 12, 6) end
print(result)
print("elapsed-ms", math.floor((os.clock() - start) * 1000 + 0.5))
