-- Unbounded cache: rendered responses are cached per user and per route with no size
-- limit and no eviction. Every new user adds entries; none ever leave. Compare two heap
-- snapshots and the cache table is where the new strings are retained.
local lab = require "lab"

local responseCache = {} -- key "user:<id>|<route>" -> rendered body; never evicted
local entries, bytes, nextUser = 0, 0, 1
local entriesGauge = lab.metrics.gauge { name = "unbounded_cache_entries", help = "Responses held by the unbounded cache." }
local bytesGauge = lab.metrics.gauge { name = "unbounded_cache_bytes", help = "Bytes of the responses held by the unbounded cache." }

local routes = { "/api/profile", "/api/orders", "/api/cart", "/api/recommendations" }

local function render(user, route, kb)
  return string.format("{\"user\":%d,\"route\":%q,\"body\":\"", user, route) .. string.rep("x", kb * 1024) .. "\"}"
end

return {
  summary = "Cache a response per user and route with no eviction",
  method  = "POST",
  params  = {
    users = { type = "integer", min = 1, max = 100000, default = 100, doc = "new users served by this call" },
    kb    = { type = "integer", min = 1, max = 256, default = 4, doc = "KiB per cached response" },
    clear = { type = "boolean", default = false, doc = "empty the cache instead (the fix is eviction)" },
  },
  undo = { param = "clear" },
  run = function(p)
    if p.clear then
      local dropped = entries
      responseCache, entries, bytes = {}, 0, 0
      entriesGauge:set(0)
      bytesGauge:set(0)
      lab.collect()
      return { dropped = dropped, entries = 0, bytes = 0 }
    end
    for _ = 1, p.users do
      local user = nextUser
      nextUser = nextUser + 1
      for _, route in ipairs(routes) do
        local body = render(user, route, p.kb)
        responseCache["user:" .. user .. "|" .. route] = body
        entries = entries + 1
        bytes = bytes + #body
      end
    end
    entriesGauge:set(entries)
    bytesGauge:set(bytes)
    return { entries = entries, bytes = bytes }
  end,
  status = function()
    return { entries = entries, bytes = bytes }
  end,
}
