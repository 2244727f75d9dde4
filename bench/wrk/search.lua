-- GET /api/v1/products?q=… rotating through queries that match the seeded catalog, plus typos
-- that exercise the trigram fallback.
local queries = {
  "headphones", "wireless%20headphones", "desk%20lamp", "gaming%20laptop", "smart%20bulb",
  "iphone", "macbook", "floor%20lamp", "summit", "harbor%20ultrabook", "portable", "vintage",
  "coffee", "running%20shoes", "camera", "iphnoe", "hedphones", "laptpo",
}
math.randomseed(42)
request = function()
  return wrk.format("GET", "/api/v1/products?q=" .. queries[math.random(#queries)])
end
