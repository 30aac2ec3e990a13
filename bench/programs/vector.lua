-- Builds an n-element array, then sums it.
local function build(n)
  local v = {}
  for i = 0, n - 1 do v[#v + 1] = i end
  return v
end

local n = math.tointeger(tonumber(arg[1]))
local start = os.clock()
local v = build(n)
local total = 0
for _, x in ipairs(v) do total = total + x end
print(#v .. " " .. total)
print("elapsed-ms", math.floor((os.clock() - start) * 1000 + 0.5))
