// Run by lazy-sdk.test.ts in a child process where every @aws-sdk/* import fails. Prints JSON.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const report: Record<string, unknown> = {};
const storage = await import("../../src/index.ts");
report.imported = true;
const memory = storage.createMemoryStorage();
await memory.put("k", "v");
report.memory = await memory.exists("k");
const root = await mkdtemp(join(tmpdir(), "cybernetic-lazy-"));
try {
  const local = await storage.createLocalStorage({ root });
  await local.put("k", "v");
  report.local = await local.exists("k");
} finally {
  await rm(root, { recursive: true, force: true });
}
for (const [name, make] of [
  ["createS3Storage", () => storage.createS3Storage({ bucket: "files" })],
  ["createStorage", () => storage.createStorage({ driver: "s3", bucket: "files" })],
] as const) {
  try {
    await make();
    report[name] = "resolved";
  } catch (error) {
    report[name] = storage.StorageError.isInstance(error)
      ? { code: error.code, message: error.message, details: error.details }
      : String(error);
  }
}
process.stdout.write(JSON.stringify(report));
