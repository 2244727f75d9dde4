-- GET /api/v1/products/{id}/also-bought?limit=10 for ids drawn at random from a file of product
-- ids (env IDS_FILE: one id per line, e.g. products that have neighbours). Each wrk thread draws
-- its own sequence (seeded by thread number), so the threads do not ask for the same ids in step.
local path = os.getenv("IDS_FILE") or error("also_bought.lua: set IDS_FILE")
local ids = {}
local f = assert(io.open(path, "r"))
for line in f:lines() do
  local id = line:match("^%s*(%d+)%s*$")
  if id then ids[#ids + 1] = id end
end
f:close()
if #ids == 0 then error("also_bought.lua: no ids in " .. path) end
local next_thread = 0
setup = function(thread)
  next_thread = next_thread + 1
  thread:set("seed", next_thread)
end
init = function() math.randomseed(seed or 1) end
request = function()
  return wrk.format("GET", "/api/v1/products/" .. ids[math.random(#ids)] .. "/also-bought?limit=10")
end
