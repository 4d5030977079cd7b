local lab = require "lab"
return {
  summary = "Refuse with lab.fail",
  params = { word = { type = "string", enum = { "tea", "coffee" }, required = true } },
  run = function(p)
    if p.word == "coffee" then lab.fail(422, "no_coffee", "this scenario only serves tea") end
    return { served = p.word, null = lab.null, list = { 1, 2, 3 }, nested = { deep = { ok = true } } }
  end,
}
