return {
  summary = "broken",
  run = function( end,
}
