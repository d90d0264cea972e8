-- Quota: fixed windows of `period` seconds counted from `start` (APIM first-period-start); a
-- period of 0 is one window for ever. Same replies, with the same arithmetic, as the local table.
--
-- KEYS[1]  hash of the quota: field n = number of the current window, u = units used in it
-- ARGV[1]  limit    units allowed per window
-- ARGV[2]  period   window length in seconds; 0 = lifetime
-- ARGV[3]  cost     units this call counts; 0 peeks
-- ARGV[4]  start    epoch seconds where window 0 begins
-- ARGV[5]  now      epoch seconds, or empty for the server clock (TIME); only a backend built
--                   with an injected clock (the conformance tests) passes it
-- ARGV[6]  add      1: count `cost` without a decision (quota_add, e.g. bandwidth after the response)
-- reply    {allowed 1|0, limit, remaining, retry_after seconds, reset seconds}
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local start = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
local add = ARGV[6] == '1'

if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end

local NEVER = 2147483647
local n = 0
if period > 0 then n = math.floor((now - start) / period) end

local stored = redis.call('HMGET', key, 'n', 'u')
local used = 0
local stored_n = tonumber(stored[1])
if stored_n and n <= stored_n then
  n = stored_n  -- window numbers only move forward
  used = tonumber(stored[2]) or 0
end

local window_end, reset = nil, NEVER
if period > 0 then
  window_end = start + (n + 1) * period
  reset = math.ceil(window_end - now)
  if reset < 1 then reset = 1 end
end

if not add and used + cost > limit then
  local retry = reset
  if period <= 0 or cost > limit then retry = NEVER end
  return {0, limit, math.max(0, limit - used), retry, reset}
end

if cost > 0 then
  used = used + cost
  redis.call('HSET', key, 'n', string.format('%.0f', n), 'u', string.format('%.0f', used))
  if period > 0 then
    redis.call('PEXPIRE', key, math.ceil((window_end - now) * 1000) + 1)
  else
    redis.call('PERSIST', key)
  end
end
return {1, limit, math.max(0, limit - used), 0, reset}
