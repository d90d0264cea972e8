-- Sliding window: a ring of 16 buckets, each period/15 seconds wide; the count is the current
-- bucket and the 15 before it, the oldest counted whole, so no interval of `period` seconds ever
-- admits more than `limit` (gwcore/state/_shm_py.py explains the scheme and its error bound; the
-- local table computes the same replies with the same arithmetic).
--
-- KEYS[1]  hash of the window: field h = number of the newest bucket, fields 0..15 = bucket counts
-- ARGV[1]  limit    units admitted per window
-- ARGV[2]  period   window length in seconds
-- ARGV[3]  cost     units this call counts; 0 peeks
-- ARGV[4]  now      epoch seconds, or empty for the server clock (TIME); only a backend built
--                   with an injected clock (the conformance tests) passes it
-- reply    {allowed 1|0, limit, remaining, retry_after seconds, reset seconds}
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])

if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end

local RING = 16
local NEVER = 2147483647
local w = period / 15
local b = math.floor(now / w)

local stored = redis.call('HMGET', key, 'h', '0', '1', '2', '3', '4', '5', '6', '7',
                          '8', '9', '10', '11', '12', '13', '14', '15')
local head = tonumber(stored[1])
local counts = {}
for i = 0, RING - 1 do
  counts[i] = tonumber(stored[i + 2]) or 0
end
if head then
  if b < head then
    b = head  -- bucket numbers only move forward
  elseif b - head >= RING then
    for i = 0, RING - 1 do counts[i] = 0 end
  else
    for j = head + 1, b do counts[j % RING] = 0 end
  end
end

local count = 0
for i = 0, RING - 1 do count = count + counts[i] end

local function at_least_1(x)
  local c = math.ceil(x)
  if c < 1 then return 1 end
  return c
end

-- bucket j leaves the counted span once the current bucket is j + RING
local function reset_after()
  for j = b, b - RING + 1, -1 do
    if counts[j % RING] > 0 then return at_least_1((j + RING) * w - now) end
  end
  return 0
end

if count + cost > limit then
  local retry = NEVER
  if cost <= limit then
    local need = count + cost - limit
    local freed = 0
    for j = b - RING + 1, b do
      freed = freed + counts[j % RING]
      if freed >= need then
        retry = at_least_1((j + RING) * w - now)
        break
      end
    end
  end
  return {0, limit, math.max(0, limit - count), retry, reset_after()}
end

if cost > 0 then
  counts[b % RING] = counts[b % RING] + cost
  count = count + cost
  -- every bucket is written: the ones that slid out of the window must read as zero next time
  local fields = {'h', string.format('%.0f', b)}
  for i = 0, RING - 1 do
    fields[#fields + 1] = tostring(i)
    fields[#fields + 1] = string.format('%.0f', counts[i])
  end
  redis.call('HSET', key, unpack(fields))
  redis.call('PEXPIRE', key, math.ceil(((b + RING) * w - now) * 1000) + 1)
end
return {1, limit, limit - count, 0, reset_after()}
