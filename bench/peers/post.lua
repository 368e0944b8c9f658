-- wrk script: POST the JSON body in $BODY (a file), with $AUTH as bearer token when set.
-- With CHECK_ERRORS=1 it also counts 2xx responses whose body contains "errors" (GraphQL
-- errors) and prints GRAPHQL_ERRORS <n> at the end.
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. auth
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  gql_errors = 0
end

if os.getenv("CHECK_ERRORS") == "1" then
  function response(status, headers, body)
    if status < 300 and string.find(body, '"errors"', 1, true) then
      gql_errors = gql_errors + 1
    end
  end
end

function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do
    n = n + (t:get("gql_errors") or 0)
  end
  io.write(string.format("GRAPHQL_ERRORS %d\n", n))
end
