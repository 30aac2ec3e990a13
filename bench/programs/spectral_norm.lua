-- spectral-norm (the Computer Language Benchmarks Game): the spectral norm
-- of the infinite matrix A, a(i,j) = 1/((i+j)(i+j+1)/2 + i + 1), cut to
-- n x n, by the power method: ten times u = AtA v, v = AtA u from u = 1,
-- then sqrt(u.v / v.v), printed to nine decimals.
local function a(i, j)
  local ij = i + j
  return 1.0 / (ij * (ij + 1) // 2 + i + 1)
end

local function times(u, n)
  local v = {}
  for i = 0, n - 1 do
    local s = 0.0
    for j = 0, n - 1 do s = s + a(i, j) * u[j + 1] end
    v[i + 1] = s
  end
  return v
end

local function times_transposed(u, n)
  local v = {}
  for i = 0, n - 1 do
    local s = 0.0
    for j = 0, n - 1 do s = s + a(j, i) * u[j + 1] end
    v[i + 1] = s
  end
  return v
end

local function times_at_a(u, n)
  return times_transposed(times(u, n), n)
end

local function spectral_norm(n)
  local u = {}
  for i = 1, n do u[i] = 1.0 end
  local v
  for _ = 1, 10 do
    v = times_at_a(u, n)
    u = times_at_a(v, n)
  end
  local vbv, vv = 0.0, 0.0
  for i = 1, n do
    vbv = vbv + u[i] * v[i]
    vv = vv + v[i] * v[i]
  end
  return math.sqrt(vbv / vv)
end

local n = math.tointeger(tonumber(arg[1]))
local start = os.clock()
print(string.format("%.9f", spectral_norm(n)))
print("elapsed-ms", math.floor((os.clock() - start) * 1000 + 0.5))
