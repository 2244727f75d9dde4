-- POST /api/v1/orders with a unique Idempotency-Key per request.
-- env: TOKEN (bearer), PRODUCTS (comma-separated ids; one id = hot SKU, many = spread).
local token = os.getenv("TOKEN")
local ids = {}
for id in string.gmatch(os.getenv("PRODUCTS") or "1", "[^,]+") do ids[#ids + 1] = id end
local counter = 0
local prefix = ""
setup = function(thread)
  thread:set("prefix", tostring(math.random(1, 1e9)) .. "-" .. tostring(os.time()))
end
init = function()
  prefix = prefix or tostring(math.random(1, 1e9))
  math.randomseed(os.time() + #prefix)
end
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
