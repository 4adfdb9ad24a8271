-- wrk script: every request is a new check-in with its own UUID and Idempotency-Key.
-- Tokens and positions come from bench/checkin_targets.txt lines: "<token> <point_code> <lat> <lon>".
local targets = {}
local counter = 0
local thread_id = 0

local function uuid4()
  local t = {}
  for i = 1, 16 do t[i] = math.random(0, 255) end
  t[7] = (t[7] % 16) + 64
  t[9] = (t[9] % 64) + 128
  local h = {}
  for i = 1, 16 do h[i] = string.format("%02x", t[i]) end
  return table.concat(h, "", 1, 4) .. "-" .. table.concat(h, "", 5, 6) .. "-" .. table.concat(h, "", 7, 8)
    .. "-" .. table.concat(h, "", 9, 10) .. "-" .. table.concat(h, "", 11, 16)
end

local threads = {}
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919 + math.floor(os.clock() * 1e6))
  for line in io.lines(args[1]) do
    local token, code, lat, lon = line:match("(%S+) (%S+) (%S+) (%S+)")
    table.insert(targets, {token = token, code = code, lat = tonumber(lat), lon = tonumber(lon)})
  end
end

function request()
  counter = counter + 1
  local t = targets[(counter + (thread_id or 0)) % #targets + 1]
  local id = uuid4()
  local body = string.format(
    '{"id":"%s","point_code":"%s","kind":"arrive","latitude":%.6f,"longitude":%.6f,"accuracy_m":9.5,'
      .. '"recorded_at":"%s"}',
    id, t.code, t.lat + (math.random() - 0.5) * 0.004, t.lon + (math.random() - 0.5) * 0.004,
    os.date("!%Y-%m-%dT%H:%M:%SZ"))
  return wrk.format("POST", "/api/v1/checkins", {
    ["Authorization"] = "Bearer " .. t.token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = id,
  }, body)
end

function done(summary, latency, requests)
  io.write(string.format("LAT p50=%.3f p90=%.3f p99=%.3f max=%.3f\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
