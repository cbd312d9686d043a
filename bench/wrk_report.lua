-- wrk script: POST a body file with the given headers; print the run's totals as one JSON line at the end.
-- Usage: wrk ... -s wrk_report.lua URL -- BODY_FILE "Header: value" ...
-- No response() callback on purpose: defining one slows wrk down for every reply.

function init(args)
   local file = assert(io.open(args[1], "rb"))
   wrk.body = file:read("*a")
   file:close()
   wrk.method = "POST"
   for i = 2, #args do
      local name, value = args[i]:match("^([^:]+):%s*(.*)$")
      if name then
         wrk.headers[name] = value
      end
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,' ..
      '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"latency_p50_us":%.0f,"latency_p90_us":%.0f,' ..
      '"latency_p99_us":%.0f,"latency_mean_us":%.1f,"latency_max_us":%.0f}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
