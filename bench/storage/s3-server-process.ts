/**
 * Runs the test S3 server (s3rver with the protocol fixes of packages/storage/test/support) in its own
 * process, so the benchmark measures only the client side's CPU and memory. Prints one JSON line with
 * the endpoint, then serves until stdin closes.
 */
import { startTestS3 } from "../../packages/storage/test/support/s3-server.ts";

const s3 = await startTestS3("bench");
process.stdout.write(
  `${JSON.stringify({ endpoint: s3.endpoint, region: s3.region, bucket: s3.bucket, credentials: s3.credentials })}\n`,
);
process.stdin.resume();
process.stdin.on("end", () => {
  void s3.close().then(() => process.exit(0));
});
