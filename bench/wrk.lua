-- One wrk script for every endpoint, configured from the environment:
--   BENCH_METHOD, BENCH_BODY, BENCH_HEADERS ("Name: value" lines), BENCH_PATHS (paths taken in
--   turn, one a line; unset: the URL's path). Prints one line "bench-status 200=N …" at the end,
--   so the harness can refuse a run whose answers were not what it measured.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
if body ~= "" then wrk.body = body end
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end

local paths = {}
for path in string.gmatch(os.getenv("BENCH_PATHS") or "", "[^\n]+") do table.insert(paths, path) end
if #paths > 0 then
  local turn = 0
  function request()
    turn = turn % #paths + 1
    return wrk.format(nil, paths[turn])
  end
end

statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do total[status] = (total[status] or 0) + count end
  end
  local parts = {}
  for status, count in pairs(total) do table.insert(parts, status .. "=" .. count) end
  io.write("bench-status " .. table.concat(parts, " ") .. "\n")
end
