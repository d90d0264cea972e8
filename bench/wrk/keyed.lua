-- strict.lua sending a subscription key: the keyed and keyed-redis scenarios by hand.
-- BENCH_SUBSCRIPTION_KEY=... wrk -t1 -c50 -d10s -s bench/wrk/keyed.lua http://127.0.0.1:8080/inventory/v1/items/42
-- (the default key is the one bench/scenarios/keyed.yaml falls back to).

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "strict.lua")

wrk.headers["Ocp-Apim-Subscription-Key"] = os.getenv("BENCH_SUBSCRIPTION_KEY") or "bench-primary-key-0123456789abcdef"
