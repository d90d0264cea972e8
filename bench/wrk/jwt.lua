-- strict.lua sending `Authorization: Bearer $BENCH_TOKEN`: the jwt scenario by hand.
-- Make a key pair and a token with `python bench/tokens.py` (it prints the exports to paste), then:
-- BENCH_TOKEN=... wrk -t1 -c50 -d10s -s bench/wrk/jwt.lua http://127.0.0.1:8080/inventory/v1/items/42

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "strict.lua")

local token = os.getenv("BENCH_TOKEN")
if not token then
  io.stderr:write("jwt.lua: set BENCH_TOKEN to a token signed for bench/scenarios/jwt.yaml (python bench/tokens.py)\n")
  os.exit(2)
end
wrk.headers["Authorization"] = "Bearer " .. token
