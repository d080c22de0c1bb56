-- TransportBench's wrk script. Arguments (after `--`): 1. pipeline depth (the pattern of wrk's own pipeline.lua);
-- 2. requests per connection: 0 keep-alive, 1 `Connection: close` on every request, N on every Nth request of this
--    wrk thread (wrk tells a script nothing about connections; docs/benchmarks.md, "Sessions"); 3. POST body bytes.
-- Without a `request` function (keep-alive, churn) wrk keeps its static, cheapest request path.
-- done() prints one machine-readable line for the runner; latencies are in microseconds.

function init(args)
  local depth = tonumber(args[1]) or 1
  local perConnection = tonumber(args[2]) or 0
  local bodyBytes = tonumber(args[3]) or 0
  if bodyBytes > 0 then
    wrk.method = "POST"
    wrk.body = string.rep("a", bodyBytes)
    wrk.headers["Content-Type"] = "application/octet-stream"
  end
  if perConnection == 1 then
    wrk.headers["Connection"] = "close"
  end
  if depth > 1 then
    local batch = {}
    for i = 1, depth do
      batch[i] = wrk.format()
    end
    local pipelined = table.concat(batch)
    request = function()
      return pipelined
    end
  elseif perConnection > 1 then
    local keep = wrk.format()
    wrk.headers["Connection"] = "close"
    local close = wrk.format()
    local sent = 0
    request = function()
      sent = sent + 1
      if sent % perConnection == 0 then
        return close
      end
      return keep
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"durationMicros":%d,"bytes":%d,"socketErrors":%d,"timeouts":%d,"non2xx":%d,' ..
    '"p50Micros":%d,"p99Micros":%d,"p999Micros":%d,"meanMicros":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect + e.read + e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.mean))
end
