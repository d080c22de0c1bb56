-- TransportBench's wrk script. Arguments (after `--`):
--   1. pipeline depth. Above 1, each connection writes that many requests back to back and wrk counts every
--      response (the pipelining example from wrk's own scripts/).
--   2. requests per connection. 0: keep-alive for the whole run. 1: `Connection: close` on every request; wrk opens
--      a new connection for the next. N: every Nth request of this wrk thread asks to close, so its connections serve
--      N requests on average (wrk tells a script nothing about connections, so the count is per thread; which
--      connection gets the closing request is whichever asks next, and session lengths scatter around N).
--   3. body bytes. Above 0, requests are POSTs with a body of that many bytes (wrk adds Content-Length).
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
