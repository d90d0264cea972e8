-- summary.lua plus a count of every response outside 2xx (1xx and 3xx too), and the first one seen.
-- bench/run.py uses it for each target's warm-up and for the reload run; a count above zero fails the run.
-- By hand:  wrk -t1 -c50 -d10s -s bench/wrk/strict.lua http://127.0.0.1:8080/inventory/v1/items/42

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "summary.lua")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  -- globals, so that done() can read them from each thread with thread:get()
  non2xx = 0
  first_non2xx = ""
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_non2xx == "" then
      first_non2xx = status .. " " .. string.sub(body or "", 1, 200):gsub("%s+", " ")
    end
  end
end

function strict_done()
  local total, first = 0, ""
  for _, thread in ipairs(threads) do
    total = total + thread:get("non2xx")
    if first == "" then
      first = thread:get("first_non2xx")
    end
  end
  io.write("gwbench non2xx=", total, "\n")
  if first ~= "" then
    io.write("gwbench first_non2xx=", first, "\n")
  end
end
