-- TransportBench's wrk script.
-- Argument 1 (after `--`): pipeline depth. Above 1, each connection writes that many requests back to back and
-- wrk counts every response (the pipelining example from wrk's own scripts/). At 1 no `request` function exists,
-- so wrk keeps its static, cheapest request path.
-- done() prints one machine-readable line for the runner; latencies are in microseconds.

function init(args)
  local depth = tonumber(args[1]) or 1
  if depth > 1 then
    local batch = {}
    for i = 1, depth do
      batch[i] = wrk.format()
    end
    local pipelined = table.concat(batch)
    request = function()
      return pipelined
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
