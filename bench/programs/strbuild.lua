-- Builds "item-0,item-1,...": n small strings joined into one.
local function build(n)
  local parts = {}
  for i = 0, n - 1 do parts[#parts + 1] = "item-" .. i end
  return table.concat(parts, ",")
end

local n = math.tointeger(tonumber(arg[1]))
local start = os.clock()
local s = build(n)
print(#s .. " " .. s:sub(-12))
print("elapsed-ms", math.floor((os.clock() - start) * 1000 + 0.5))
