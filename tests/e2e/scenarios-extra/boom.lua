local function inner() error("boom on purpose") end
return {
  summary = "Raise a runtime error",
  run = function() inner() end,
}
