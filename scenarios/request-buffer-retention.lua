-- Request-buffer retention: each request's payload buffer is kept in a request log
-- "for debugging" and the log is never trimmed. Send a body, or let kb make one: the
-- native memory behind the log grows with every call.
local lab = require "lab"

local requestLog = {} -- every request's payload, kept forever
local bytes = 0

return {
  summary = "Keep every request's payload buffer in a request log that is never trimmed",
  method  = "POST",
  params  = {
    kb    = { type = "integer", min = 1, max = 65536, default = 256, doc = "KiB of payload when the request has no body" },
    clear = { type = "boolean", default = false, doc = "empty the request log instead (the fix is a bounded log)" },
  },
  undo = { param = "clear" },
  run = function(p, req)
    if p.clear then
      local dropped = #requestLog
      requestLog, bytes = {}, 0
      lab.collect()
      return { dropped = dropped, entries = 0, bytes = 0 }
    end
    local payload
    if req and req.body and #req.body > 0 then
      payload = req.body
    else
      payload = lab.buffer(p.kb * 1024)
    end
    requestLog[#requestLog + 1] = { at = lab.now(), path = req and req.path or "", payload = payload }
    bytes = bytes + #payload
    return { entries = #requestLog, bytes = bytes }
  end,
  status = function()
    return { entries = #requestLog, bytes = bytes }
  end,
}
