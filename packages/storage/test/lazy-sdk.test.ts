/**
 * The AWS SDK is an optional peer dependency: importing the package and using the local and memory
 * adapters must work without it, and only the S3 factory may need it.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL("..", import.meta.url));

it("imports and runs without @aws-sdk; the s3 driver then fails with `unsupported`", {
  timeout: 60_000,
}, async () => {
  const { stdout } = await run(
    process.execPath,
    ["--import", "./test/support/block-aws-sdk.mjs", "--import", "tsx", "./test/support/lazy-sdk-child.ts"],
    { cwd: packageDir },
  );
  const report = JSON.parse(stdout) as Record<string, unknown>;
  expect(report).toMatchObject({ imported: true, memory: true, local: true });
  for (const name of ["createS3Storage", "createStorage"]) {
    expect(report[name]).toMatchObject({
      code: "unsupported",
      details: { driver: "s3", missing: ["@aws-sdk/client-s3", "@aws-sdk/lib-storage"] },
    });
    expect((report[name] as { message: string }).message).toContain("install them");
  }
});
