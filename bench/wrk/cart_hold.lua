-- PUT /api/v1/carts/{id}/lines/{variant} on guest carts, each request moving its cart's line between
-- 1 and 2 units (so every request changes the variant's held units by one), counting answers.
-- env: CART_FIRST (first cart id), CARTS (how many), VARIANT, TOKEN_PREFIX (cart i's token is
-- TOKEN_PREFIX .. i). Each wrk thread takes its own slice of the carts and walks it in turn.
local first = tonumber(os.getenv("CART_FIRST") or "1")
local carts = tonumber(os.getenv("CARTS") or "1000")
local variant = os.getenv("VARIANT") or "1"
local token_prefix = os.getenv("TOKEN_PREFIX") or "bench-cart-"
local threads = {}
local next_thread = 0
setup = function(thread)
  next_thread = next_thread + 1
  thread:set("slice", next_thread - 1)
  threads[#threads + 1] = thread
end
local per_thread, base, cursor, last = 0, 0, 0, {}
c2xx, c409, c422, c5xx, cother = 0, 0, 0, 0, 0
init = function()
  per_thread = math.floor(carts / tonumber(os.getenv("THREADS") or "2"))
  base = first + (slice or 0) * per_thread
end
request = function()
  cursor = cursor % per_thread
  local id = base + cursor
  cursor = cursor + 1
  local q = (last[id] == 1) and 2 or 1
  last[id] = q
  return wrk.format("PUT", "/api/v1/carts/" .. id .. "/lines/" .. variant, {
    ["Content-Type"] = "application/json",
    ["X-Cart-Token"] = token_prefix .. id,
  }, '{"quantity":' .. q .. '}')
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
