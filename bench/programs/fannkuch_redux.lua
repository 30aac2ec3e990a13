-- fannkuch-redux (the Computer Language Benchmarks Game): for every
-- permutation of 0..n-1, in the order the site's programs generate them (a
-- swap of the first two, else a swap of the second and third and a rotation
-- chosen by a counter per position), counts the flips (reversals of the
-- first p[1]+1 items) until 0 comes first. Prints the checksum (the flip
-- counts summed with alternating signs) and the largest count.
local function count_flips(p, q, n)
  for i = 1, n do q[i] = p[i] end
  local flips = 0
  local k = q[1]
  while k ~= 0 do
    local i, j = 1, k + 1
    while i < j do
      q[i], q[j] = q[j], q[i]
      i, j = i + 1, j - 1
    end
    flips = flips + 1
    k = q[1]
  end
  return flips
end

local function fannkuch(n)
  local p, q, s = {}, {}, {}
  for i = 1, n do p[i] = i - 1; s[i] = i - 1 end
  local sign, checksum, max_flips = 1, 0, 0
  while true do
    if p[1] ~= 0 then
      local flips = count_flips(p, q, n)
      checksum = checksum + sign * flips
      if flips > max_flips then max_flips = flips end
    end
    if sign == 1 then
      p[1], p[2] = p[2], p[1]
      sign = -1
    else
      p[2], p[3] = p[3], p[2]
      sign = 1
      for i = 3, n do
        if s[i] ~= 0 then
          s[i] = s[i] - 1
          break
        end
        if i == n then return checksum, max_flips end
        s[i] = i - 1
        -- Rotates the first i+1 items left by one.
        local first = p[1]
        for j = 1, i do p[j] = p[j + 1] end
        p[i + 1] = first
      end
    end
  end
end

local n = math.tointeger(tonumber(arg[1]))
local start = os.clock()
local checksum, max_flips = fannkuch(n)
print(checksum)
print(string.format("Pfannkuchen(%d) = %d", n, max_flips))
print("elapsed-ms", math.floor((os.clock() - start) * 1000 + 0.5))
