-- n-body (the Computer Language Benchmarks Game): the Jovian planets and
-- the Sun as point masses, integrated with a simple symplectic Euler step
-- of dt = 0.01 (every pair's velocities first, then every position). Prints
-- the system's energy, to nine decimals, before and after the given number
-- of steps. The float operations are done in the same order in every
-- language, so that the answers agree to the last digit printed.
local sqrt = math.sqrt

local PI = 3.141592653589793
local SOLAR_MASS = 4 * PI * PI
local DAYS_PER_YEAR = 365.24

local function body(x, y, z, vx, vy, vz, mass)
  return { x = x, y = y, z = z, vx = vx * DAYS_PER_YEAR, vy = vy * DAYS_PER_YEAR,
           vz = vz * DAYS_PER_YEAR, mass = mass * SOLAR_MASS }
end

local function system()
  return {
    body(0, 0, 0, 0, 0, 0, 1),
    body(4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
         1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05,
         9.54791938424326609e-04),
    body(8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
         -2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05,
         2.85885980666130812e-04),
    body(1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
         2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05,
         4.36624404335156298e-05),
    body(1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
         2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05,
         5.15138902046611451e-05),
  }
end

local function offset_momentum(bodies)
  local px, py, pz = 0.0, 0.0, 0.0
  for _, b in ipairs(bodies) do
    px = px + b.vx * b.mass
    py = py + b.vy * b.mass
    pz = pz + b.vz * b.mass
  end
  local sun = bodies[1]
  sun.vx = -px / SOLAR_MASS
  sun.vy = -py / SOLAR_MASS
  sun.vz = -pz / SOLAR_MASS
end

local function energy(bodies)
  local e = 0.0
  local n = #bodies
  for i = 1, n do
    local b1 = bodies[i]
    e = e + 0.5 * b1.mass * (b1.vx * b1.vx + b1.vy * b1.vy + b1.vz * b1.vz)
    for j = i + 1, n do
      local b2 = bodies[j]
      local dx, dy, dz = b1.x - b2.x, b1.y - b2.y, b1.z - b2.z
      e = e - b1.mass * b2.mass / sqrt(dx * dx + dy * dy + dz * dz)
    end
  end
  return e
end

local function advance(bodies, steps, dt)
  local n = #bodies
  for _ = 1, steps do
    for i = 1, n do
      local b1 = bodies[i]
      for j = i + 1, n do
        local b2 = bodies[j]
        local dx, dy, dz = b1.x - b2.x, b1.y - b2.y, b1.z - b2.z
        local d2 = dx * dx + dy * dy + dz * dz
        local mag = dt / (d2 * sqrt(d2))
        local m1, m2 = b1.mass * mag, b2.mass * mag
        b1.vx = b1.vx - dx * m2
        b1.vy = b1.vy - dy * m2
        b1.vz = b1.vz - dz * m2
        b2.vx = b2.vx + dx * m1
        b2.vy = b2.vy + dy * m1
        b2.vz = b2.vz + dz * m1
      end
    end
    for i = 1, n do
      local b = bodies[i]
      b.x = b.x + dt * b.vx
      b.y = b.y + dt * b.vy
      b.z = b.z + dt * b.vz
    end
  end
end

local n = math.tointeger(tonumber(arg[1]))
local start = os.clock()
local bodies = system()
offset_momentum(bodies)
print(string.format("%.9f", energy(bodies)))
advance(bodies, n, 0.01)
print(string.format("%.9f", energy(bodies)))
print("elapsed-ms", math.floor((os.clock() - start) * 1000 + 0.5))
