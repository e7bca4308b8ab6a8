-- A wrk script: POSTs one AdmissionReview, read from the file named by the
-- REVIEW environment variable, to /validate on every request, and prints the
-- answers' mean size and how many were not 200.
--
--   python3 bench/webhook-load/load.py --containers 1000 --write-review review.json
--   REVIEW=review.json wrk -t2 -c16 -d20s -s bench/webhook-load/crowded.lua https://127.0.0.1:18443
--
-- wrk is closed-loop (each connection sends its next request when the answer
-- came): it measures the most the server answers, not latency at a given
-- rate; load.py does that.

local path = os.getenv("REVIEW") or "review.json"
local file = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.path = "/validate"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

local not_ok = 0

function response(status, headers, body)
  if status ~= 200 then
    not_ok = not_ok + 1
  end
end

function done(summary, latency, requests)
  local answered = summary.requests
  if answered > 0 then
    io.write(string.format("answers: %d, mean %.0f bytes (headers included)\n",
      answered, summary.bytes / answered))
  end
  io.write(string.format("answers not 200 (counted per wrk thread, first thread's shown): %d\n", not_ok))
end
