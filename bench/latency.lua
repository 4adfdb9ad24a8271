-- wrk script for the baseline: plain GETs, latency percentiles in milliseconds at the end.
function done(summary, latency, requests)
  io.write(string.format("LAT p50=%.3f p90=%.3f p99=%.3f max=%.3f\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
