-- Stores n integer keys in a table, then reads each back.
local function build(n)
  local m = {}
  for i = 0, n - 1 do m[i] = 2 * i end
  return m
end

local function read_back(m, n)
  local acc = 0
  for i = 0, n - 1 do acc = acc + m[i] end
  return acc
end

local n = math.tointeger(tonumber(arg[1]))
local start = os.clock()
local m = build(n)
local total = read_back(m, n)
local count = 0
for _ in pairs(m) do count = count + 1 end
print(count .. " " .. total)
print("elapsed-ms", math.floor((os.clock() - start) * 1000 + 0.5))
