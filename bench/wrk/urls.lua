-- GET one of the request targets listed in the file URLS_FILE (one per line), chosen at random.
local targets = {}
for line in io.lines(os.getenv("URLS_FILE")) do
  if #line > 0 then targets[#targets + 1] = line end
end
math.randomseed(42)
request = function()
  return wrk.format("GET", targets[math.random(#targets)])
end
