/**
 * Child process of the http benchmark: the load generator (autocannon), in its own process so it does
 * not share an event loop with the server. Prints one JSON line: requests/s, latency percentiles (ms),
 * non-2xx responses and errors.
 */
import autocannon from "autocannon";

const [url, seconds, connections, authorization] = process.argv.slice(2);
if (!url) throw new Error("usage: load.ts <url> <seconds> <connections> [authorization]");
const result = await autocannon({
  url,
  duration: Number(seconds ?? 5),
  connections: Number(connections ?? 50),
  headers: authorization ? { authorization } : {},
});
process.stdout.write(
  `${JSON.stringify({
    rps: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  })}\n`,
);
