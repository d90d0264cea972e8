-- wrk's results as `gwbench key=value` lines for bench/wrkrun.py, with no per-request Lua work
-- (a response() hook costs wrk ~8% of its throughput, so the measured runs go without one).
-- By hand:  wrk -t1 -c50 -d10s -s bench/wrk/summary.lua http://127.0.0.1:8080/inventory/v1/items/42

function done(summary, latency, requests)
  local e = summary.errors
  local lines = {
    "requests=" .. summary.requests,
    "duration_us=" .. summary.duration,
    "bytes=" .. summary.bytes,
    "p50_us=" .. latency:percentile(50),
    "p99_us=" .. latency:percentile(99),
    "max_us=" .. latency.max,
    -- wrk's own status count only covers status >= 400; strict.lua counts every non-2xx
    "status_errors=" .. e.status,
    "connect_errors=" .. e.connect,
    "read_errors=" .. e.read,
    "write_errors=" .. e.write,
    "timeouts=" .. e.timeout,
  }
  for _, line in ipairs(lines) do
    io.write("gwbench ", line, "\n")
  end
  if strict_done then
    strict_done()
  end
end
