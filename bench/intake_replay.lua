-- Replays pre-signed Standard Webhooks deliveries through wrk, one delivery per request and
-- never one twice: each thread takes its own slice of the pool (every n-th line), formats
-- its requests once in init() so the load generator spends nothing per request, and counts
-- the answers by status. done() prints one line, "WRK_JSON {...}", for bench/intake_http.py.
--
--   wrk -t2 -c8 -d10s -s bench/intake_replay.lua http://host:port -- POOL_FILE THREADS
--
-- POOL_FILE: one delivery per line, tab-separated: webhook-id, webhook-timestamp,
-- webhook-signature, body (compact JSON, no tabs or newlines).

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local pool_file, thread_count = args[1], tonumber(args[2])
  requests_ready = {}
  local line_number = 0
  for line in io.lines(pool_file) do
    if line_number % thread_count == thread_index then
      local id, timestamp, signature, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t(.+)$")
      local headers = {
        ["Content-Type"] = "application/json",
        ["webhook-id"] = id,
        ["webhook-timestamp"] = timestamp,
        ["webhook-signature"] = signature,
      }
      table.insert(requests_ready, wrk.format("POST", "/webhooks/standard", headers, body))
    end
    line_number = line_number + 1
  end
  next_request = 1
  accepted, duplicate, refused, pool_exhausted = 0, 0, 0, 0
end

function request()
  local ready = requests_ready[next_request]
  if ready == nil then
    -- every delivery of this slice is sent: start over, which the server must answer
    -- as duplicates (200); counted so the bench can say the pool was too small
    pool_exhausted = pool_exhausted + 1
    next_request = 1
    ready = requests_ready[1]
  end
  next_request = next_request + 1
  return ready
end

function response(status, headers, body)
  if status == 202 then
    accepted = accepted + 1
  elseif status == 200 then
    duplicate = duplicate + 1
  else
    refused = refused + 1
  end
end

local function total(name)
  local sum = 0
  for _, thread in ipairs(threads) do
    sum = sum + thread:get(name)
  end
  return sum
end

function done(summary, latency, requests)
  local percentiles = {}
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    table.insert(percentiles, string.format('"%s": %d', p, latency:percentile(p)))
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us": %d, "requests": %d, "bytes": %d, '
      .. '"latency_us": {%s}, "latency_max_us": %d, "latency_mean_us": %.1f, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}, '
      .. '"accepted": %d, "duplicate": %d, "refused": %d, "pool_exhausted": %d}\n',
    summary.duration, summary.requests, summary.bytes,
    table.concat(percentiles, ", "), latency.max, latency.mean,
    errors.connect, errors.read, errors.write, errors.timeout, errors.status,
    total("accepted"), total("duplicate"), total("refused"), total("pool_exhausted")
  ))
end
