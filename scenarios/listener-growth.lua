-- Listener growth: every call subscribes new listeners to a long-lived emitter and
-- never unsubscribes them, like a service that calls emitter.on() per request. Each
-- listener's closure keeps its request context alive. Past maxListeners the emitter
-- warns, as Node's MaxListenersExceededWarning does; the heap keeps growing anyway.
local lab = require "lab"

local EventEmitter = { __name = "EventEmitter" }
EventEmitter.__index = EventEmitter

function EventEmitter.new(maxListeners)
  return setmetatable({ listeners = {}, maxListeners = maxListeners, warned = {} }, EventEmitter)
end

function EventEmitter:on(event, fn)
  local list = self.listeners[event]
  if not list then list = {}; self.listeners[event] = list end
  list[#list + 1] = fn
  if #list > self.maxListeners and not self.warned[event] then
    self.warned[event] = true
    lab.log("warn", "MaxListenersExceededWarning: possible listener leak", {
      event = event, listeners = #list, maxListeners = self.maxListeners })
  end
end

function EventEmitter:count()
  local n = 0
  for _, list in pairs(self.listeners) do n = n + #list end
  return n
end

function EventEmitter:removeAll()
  self.listeners, self.warned = {}, {}
end

local configChanged = EventEmitter.new(10) -- lives as long as the process
local requests = 0
local listenersGauge = lab.metrics.gauge {
  name = "listener_growth_listeners", help = "Listeners subscribed to the long-lived emitter (listener-growth).",
}

return {
  summary = "Add listeners to a long-lived emitter on every call and never remove them",
  method  = "POST",
  params  = {
    count  = { type = "integer", min = 1, max = 10000, default = 10, doc = "listeners added by this call" },
    kb     = { type = "integer", min = 0, max = 1024, default = 4, doc = "KiB of request context each listener keeps" },
    remove = { type = "boolean", default = false, doc = "remove every listener instead (the fix)" },
  },
  undo = { param = "remove" },
  run = function(p)
    if p.remove then
      local removed = configChanged:count()
      configChanged:removeAll()
      listenersGauge:set(0)
      lab.collect()
      return { removed = removed, listeners = 0 }
    end
    requests = requests + 1
    for i = 1, p.count do
      local context = { request = requests, index = i, payload = string.rep("c", p.kb * 1024) }
      configChanged:on("config-changed", function(cfg) return context.request, cfg end)
    end
    listenersGauge:set(configChanged:count())
    return { added = p.count, listeners = configChanged:count(), maxListeners = configChanged.maxListeners }
  end,
  status = function()
    return { listeners = configChanged:count(), maxListeners = configChanged.maxListeners }
  end,
}
