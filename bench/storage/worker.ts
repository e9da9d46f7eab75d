/**
 * One measured transfer of the storage benchmark, in a fresh process so that peak RSS growth belongs to
 * this transfer alone (a process that already ran one keeps its heap and allocator pools, hiding the
 * next one's growth). Reads a job as JSON from argv[2]; prints `{ ms, peakGrowth, sha256? }`.
 *
 *   node --expose-gc --import tsx bench/storage/worker.ts '{"op":"local-up-plain",…}'
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createLocalStorage, createS3Storage } from "../../packages/storage/src/index.ts";
import { createS3Client, rawDownload, rawUpload } from "../../packages/storage/test/support/s3-baseline.ts";
import { measurePeakRss, nowMs } from "../lib.ts";

/** What to measure. */
export interface Job {
  op:
    | "local-up-plain"
    | "local-up-ours"
    | "local-down-plain"
    | "local-down-ours"
    | "s3-up-raw"
    | "s3-up-ours"
    | "s3-down-raw"
    | "s3-down-ours";
  chunk: number;
  /** local: the file to read; the plain copy's target (up). */
  source?: string;
  target?: string;
  root?: string;
  /** s3 */
  s3?: {
    endpoint: string;
    region: string;
    bucket: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  blockFile?: string;
  totalMiB?: number;
  partSize?: number;
  queueSize?: number;
}

const KEY = "bench/object.bin";

function hashing(hash: Hash, chunk: number): Transform {
  return new Transform({
    highWaterMark: chunk,
    transform(data: Buffer, _encoding, callback) {
      hash.update(data);
      callback(null, data);
    },
  });
}

function sink(chunk: number): Writable {
  return new Writable({
    highWaterMark: chunk,
    write(_data, _encoding, callback) {
      callback();
    },
  });
}

async function repeatedStream(blockFile: string, totalMiB: number): Promise<Readable> {
  const { readFile } = await import("node:fs/promises");
  const block = await readFile(blockFile);
  return Readable.from(
    (function* () {
      for (let i = 0; i < totalMiB; i++) yield block;
    })(),
    { objectMode: false },
  );
}

async function runJob(job: Job): Promise<string | undefined> {
  const { chunk } = job;
  switch (job.op) {
    case "local-up-plain": {
      const hash = createHash("sha256");
      await pipeline(
        createReadStream(job.source as string, { highWaterMark: chunk }),
        hashing(hash, chunk),
        createWriteStream(job.target as string, { highWaterMark: chunk }),
      );
      return hash.digest("hex");
    }
    case "local-down-plain": {
      const hash = createHash("sha256");
      await pipeline(
        createReadStream(job.source as string, { highWaterMark: chunk }),
        hashing(hash, chunk),
        sink(chunk),
      );
      return hash.digest("hex");
    }
    case "local-up-ours": {
      const storage = await createLocalStorage({ root: job.root as string, highWaterMark: chunk });
      return (await storage.put(KEY, createReadStream(job.source as string, { highWaterMark: chunk })))
        .sha256;
    }
    case "local-down-ours": {
      const storage = await createLocalStorage({ root: job.root as string, highWaterMark: chunk });
      const hash = createHash("sha256");
      const { body } = await storage.get(KEY);
      await pipeline(body, hashing(hash, chunk), sink(chunk));
      return hash.digest("hex");
    }
    default:
      break;
  }
  const s3 = job.s3 as NonNullable<Job["s3"]>;
  const client = createS3Client(s3);
  try {
    const body = job.op.includes("-up-")
      ? await repeatedStream(job.blockFile as string, job.totalMiB as number)
      : undefined;
    switch (job.op) {
      case "s3-up-raw":
        await rawUpload(client, {
          bucket: s3.bucket,
          key: `raw/${KEY}`,
          body: body as Readable,
          partSize: job.partSize as number,
          queueSize: job.queueSize as number,
        });
        return undefined;
      case "s3-up-ours": {
        const storage = await createS3Storage({
          client,
          bucket: s3.bucket,
          prefix: "ours/",
          partSize: job.partSize as number,
          queueSize: job.queueSize as number,
        });
        return (await storage.put(KEY, body as Readable)).sha256;
      }
      case "s3-down-raw":
        await pipeline(await rawDownload(client, s3.bucket, `raw/${KEY}`), sink(chunk));
        return undefined;
      case "s3-down-ours": {
        const storage = await createS3Storage({ client, bucket: s3.bucket, prefix: "ours/" });
        await pipeline((await storage.get(KEY)).body, sink(chunk));
        return undefined;
      }
      default:
        throw new Error(`unknown op ${job.op}`);
    }
  } finally {
    client.destroy();
  }
}

const job = JSON.parse(process.argv[2] ?? "{}") as Job;
// Load the modules a job needs before measuring, so module loading is not counted as transfer memory.
await import("../../packages/storage/src/index.ts");
if (job.op.startsWith("s3")) await import("../../packages/storage/test/support/s3-baseline.ts");
const { result, peakGrowth } = await measurePeakRss(async () => {
  const started = nowMs();
  const sha256 = await runJob(job);
  return { ms: nowMs() - started, sha256 };
}, 5);
process.stdout.write(`${JSON.stringify({ ...result, peakGrowth })}\n`);
