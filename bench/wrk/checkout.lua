-- POST /api/v1/orders with a unique Idempotency-Key per request, counting the answers by status.
-- env: TOKEN (bearer), PRODUCTS (comma-separated ids; one id = hot SKU, many = spread).
local token = os.getenv("TOKEN")
local ids = {}
for id in string.gmatch(os.getenv("PRODUCTS") or "1", "[^,]+") do ids[#ids + 1] = id end
local threads = {}
local next_thread = 0
setup = function(thread)
  next_thread = next_thread + 1
  thread:set("prefix", "t" .. next_thread .. "-" .. os.time())
  thread:set("seed", next_thread)
  threads[#threads + 1] = thread
end
counter = 0
c2xx, c409, c422, c5xx, cother = 0, 0, 0, 0, 0
init = function() math.randomseed(seed or 1) end
request = function()
  counter = counter + 1
  local id = ids[math.random(#ids)]
  local body = '{"items":[{"product_id":' .. id .. ',"quantity":1}],"shipping_address":{"city":"Oslo"}}'
  return wrk.format("POST", "/api/v1/orders", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = prefix .. "-" .. counter,
  }, body)
end
response = function(status)
  if status >= 200 and status < 300 then c2xx = c2xx + 1
  elseif status == 409 then c409 = c409 + 1
  elseif status == 422 then c422 = c422 + 1
  elseif status >= 500 then c5xx = c5xx + 1
  else cother = cother + 1 end
end
local report = done
done = function(summary, latency, requests)
  local t = {c2xx = 0, c409 = 0, c422 = 0, c5xx = 0, cother = 0}
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (th:get(k) or 0) end
  end
  local secs = summary.duration / 1e6
  io.write(string.format("STATUS ok_rps=%.0f c2xx=%d c409=%d c422=%d c5xx=%d cother=%d\n",
    t.c2xx / secs, t.c2xx, t.c409, t.c422, t.c5xx, t.cother))
  if report then report(summary, latency, requests) end
end
