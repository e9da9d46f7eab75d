/**
 * The raw AWS SDK calls the storage benchmark compares the S3 adapter against (kept here because the
 * SDK is a dependency of this package, not of the repository root where bench/ lives).
 */
import type { Readable } from "node:stream";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

/** A path-style client for an S3-compatible endpoint. */
export function createS3Client(options: {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}): S3Client {
  return new S3Client({
    endpoint: options.endpoint,
    region: options.region,
    forcePathStyle: true,
    credentials: { ...options.credentials },
  });
}

/** lib-storage `Upload` with the given part size and concurrency, as the adapter uses it. */
export async function rawUpload(
  client: S3Client,
  params: { bucket: string; key: string; body: Readable; partSize: number; queueSize: number },
): Promise<void> {
  await new Upload({
    client,
    params: { Bucket: params.bucket, Key: params.key, Body: params.body },
    partSize: params.partSize,
    queueSize: params.queueSize,
    leavePartsOnError: false,
  }).done();
}

/** A plain `GetObject`; returns the response body stream. */
export async function rawDownload(client: S3Client, bucket: string, key: string): Promise<Readable> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body as Readable;
}
