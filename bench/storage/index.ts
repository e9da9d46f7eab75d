/**
 * Storage throughput and memory against baselines measured in the same run:
 * - local: a file streamed into the local adapter vs a plain `fs` stream copy that also computes
 *   SHA-256, and streamed out (read + SHA-256) vs a plain `fs` read + SHA-256, all with 1 MiB chunks
 *   (BENCH_STORAGE_LOCAL_MB, default 1024 MiB);
 * - s3: an object uploaded and downloaded through the S3 adapter vs raw lib-storage `Upload` and
 *   `GetObject` with the same part size (5 MiB) and concurrency (4), against s3rver running in a child
 *   process (BENCH_STORAGE_S3_MB, default 256 MiB).
 * Every transfer runs in a fresh worker process (bench/storage/worker.ts) so its peak RSS growth is its
 * own; baseline and ours alternate for BENCH_STORAGE_ROUNDS rounds (default 7) and medians are reported.
 *
 *   node --expose-gc --import tsx bench/run.ts storage
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, open, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type BenchResult, type BenchRow, row } from "../lib.ts";
import type { Job } from "./worker.ts";

const MiB = 1024 * 1024;
const CHUNK = MiB;
const PART_SIZE = 5 * MiB;
const QUEUE_SIZE = 4;
const ROUNDS = Number(process.env.BENCH_STORAGE_ROUNDS ?? 7);
const worker = fileURLToPath(new URL("./worker.ts", import.meta.url));
const exec = promisify(execFile);

function sizeFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive whole number of MiB`);
  return value;
}

/**
 * Removes the file an upload is about to write. The plain copy truncates its target when it opens it,
 * freeing its pages just before it writes; the adapter writes a new temp file and renames it over the old
 * object, so without this it would need a second set of pages while the old object still holds the first.
 * In a virtual machine that returns freed memory to its host, fresh pages cost a fault to the host each,
 * and that, not the adapter, would decide the comparison.
 */
async function removeOutput(job: Job): Promise<void> {
  if (job.op === "local-up-plain" && job.target) await rm(job.target, { force: true });
  if (job.op === "local-up-ours" && job.root) await rm(job.root, { recursive: true, force: true });
}

interface Measured {
  mbPerSecond: number;
  peakGrowth: number;
}

/**
 * Runs one transfer of `bytes` in a fresh worker process, after flushing what earlier runs left dirty and
 * removing what the transfer is about to write (untimed, for both sides alike).
 */
async function measure(job: Job, bytes: number, digests: Set<string>): Promise<Measured> {
  await removeOutput(job);
  await exec("sync");
  const { stdout } = await exec(
    process.execPath,
    ["--expose-gc", "--no-warnings", "--import", "tsx", worker, JSON.stringify(job)],
    { maxBuffer: 1024 * 1024 },
  );
  const { ms, peakGrowth, sha256 } = JSON.parse(stdout.trim().split("\n").at(-1) as string) as {
    ms: number;
    peakGrowth: number;
    sha256?: string;
  };
  if (sha256) digests.add(sha256);
  return { mbPerSecond: bytes / 1e6 / (ms / 1000), peakGrowth };
}

/**
 * Alternates baseline and ours for ROUNDS rounds (which goes first alternates too) and reports the
 * median of each side's throughput and peak RSS growth.
 */
async function compare(
  bytes: number,
  baseline: Job,
  ours: Job,
  digests: Set<string>,
): Promise<{ baseline: Measured; ours: Measured }> {
  const runs = { baseline: [] as Measured[], ours: [] as Measured[] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (["baseline", "ours"] as const) : (["ours", "baseline"] as const);
    for (const side of order)
      runs[side].push(await measure(side === "baseline" ? baseline : ours, bytes, digests));
  }
  const median = (values: number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  const summarise = (list: Measured[]): Measured => ({
    mbPerSecond: median(list.map((m) => m.mbPerSecond)),
    peakGrowth: median(list.map((m) => m.peakGrowth)),
  });
  return { baseline: summarise(runs.baseline), ours: summarise(runs.ours) };
}

function rowsFor(
  label: string,
  direction: string,
  result: { baseline: Measured; ours: Measured },
  rssTarget: string,
) {
  return [
    row(`${label} ${direction} throughput`, result.ours.mbPerSecond, result.baseline.mbPerSecond, "MB/s", {
      target: ">= 0.9x",
    }),
    row(
      `${label} ${direction} peak RSS growth`,
      result.ours.peakGrowth / MiB,
      result.baseline.peakGrowth / MiB,
      "MiB",
      {
        target: rssTarget,
      },
    ),
  ];
}

async function writeSource(path: string, block: Buffer, totalMiB: number): Promise<void> {
  const file = await open(path, "w");
  try {
    for (let i = 0; i < totalMiB; i++) await file.write(block, 0, block.byteLength, i * block.byteLength);
  } finally {
    await file.close();
  }
}

async function benchLocal(dir: string, block: Buffer, totalMiB: number): Promise<BenchRow[]> {
  const bytes = totalMiB * MiB;
  const source = join(dir, "source.bin");
  const root = join(dir, "local");
  const plainCopy = join(dir, "plain-copy.bin");
  await writeSource(source, block, totalMiB);
  const digests = new Set<string>();
  const up = await compare(
    bytes,
    { op: "local-up-plain", chunk: CHUNK, source, target: plainCopy },
    { op: "local-up-ours", chunk: CHUNK, source, root },
    digests,
  );
  const down = await compare(
    bytes,
    { op: "local-down-plain", chunk: CHUNK, source: plainCopy },
    { op: "local-down-ours", chunk: CHUNK, root },
    digests,
  );
  // Every run, up and down, plain and ours, must have seen the same bytes.
  if (digests.size !== 1) throw new Error(`local: SHA-256 mismatch (${[...digests].join(", ")})`);
  if ((await stat(plainCopy)).size !== bytes) throw new Error("local: copy size mismatch");
  return [...rowsFor("local", "up", up, "< 64 MiB"), ...rowsFor("local", "down", down, "< 64 MiB")];
}

async function startServer(dir: string): Promise<{ child: ChildProcess; info: NonNullable<Job["s3"]> }> {
  const script = fileURLToPath(new URL("./s3-server-process.ts", import.meta.url));
  const child = spawn(process.execPath, ["--no-warnings", "--import", "tsx", script], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, TMPDIR: dir }, // s3rver keeps its files next to the benchmark's
  });
  const lines = createInterface({ input: child.stdout as Readable });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`s3 server exited with ${code}`)));
  });
  return { child, info: JSON.parse(first) as NonNullable<Job["s3"]> };
}

async function benchS3(dir: string, block: Buffer, totalMiB: number): Promise<BenchRow[]> {
  const bytes = totalMiB * MiB;
  const blockFile = join(dir, "block.bin");
  await writeFile(blockFile, block);
  const { child, info } = await startServer(dir);
  try {
    const common = {
      chunk: CHUNK,
      s3: info,
      blockFile,
      totalMiB,
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
    };
    const digests = new Set<string>();
    const up = await compare(bytes, { op: "s3-up-raw", ...common }, { op: "s3-up-ours", ...common }, digests);
    const down = await compare(
      bytes,
      { op: "s3-down-raw", ...common },
      { op: "s3-down-ours", ...common },
      digests,
    );
    if (digests.size !== 1) throw new Error("s3: the adapter reported different SHA-256s for the same data");
    return [...rowsFor("s3", "up", up, "<= 1.1x"), ...rowsFor("s3", "down", down, "<= 1.1x")];
  } finally {
    child.stdin?.end();
    await new Promise((resolve) => child.once("exit", resolve));
  }
}

export default async function run(): Promise<BenchResult> {
  const localMiB = sizeFromEnv("BENCH_STORAGE_LOCAL_MB", 1024);
  const s3MiB = sizeFromEnv("BENCH_STORAGE_S3_MB", 256);
  const block = randomBytes(MiB);
  // tmpfs by default: the comparison is about the adapter's own overhead (hashing, chunking, syscalls),
  // which a virtual disk's caching noise would drown. BENCH_STORAGE_DIR=/tmp measures on disk, where the
  // adapter's fsync (durability the plain copy does not have) makes it as fast as the disk.
  const base = process.env.BENCH_STORAGE_DIR ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
  const dir = await mkdtemp(join(base, "cybernetic-bench-storage-"));
  try {
    const rows = [...(await benchLocal(dir, block, localMiB)), ...(await benchS3(dir, block, s3MiB))];
    return {
      name: "storage",
      rows,
      context: {
        localMiB,
        s3MiB,
        chunkBytes: CHUNK,
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        rounds: ROUNDS,
        dir: base,
        node: process.version,
        notes:
          "local 'ours' fsyncs the file and its directory before publishing it; the plain copy does not. " +
          "s3rver runs in its own process; RSS is the worker's only.",
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
