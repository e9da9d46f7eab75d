// Just enough types for the parts of s3rver 3.7 (CommonJS, untyped) that the S3 test server uses.

declare module "s3rver" {
  import type { Readable } from "node:stream";

  export interface S3rverContext {
    method: string;
    path: string;
    query: Record<string, string | undefined>;
    headers: Record<string, string | string[] | undefined>;
    params: Record<string, string | undefined>;
    state: Record<string, unknown>;
    status: number;
    body: unknown;
    store: FilesystemStore;
    get(header: string): string;
  }

  export type S3rverMiddleware = (ctx: S3rverContext, next: () => Promise<void>) => Promise<void> | void;

  export interface StoredObject {
    bucket: string;
    key: string;
    content: Readable | Buffer | null;
    metadata: Record<string, string>;
    size: number;
  }

  export interface FilesystemStore {
    rootDirectory: string;
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    getBucketPath(bucket: string): string;
    getBucket(bucket: string): Promise<unknown | null>;
    getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
    putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
    getObject(
      bucket: string,
      key: string,
      options?: { start?: number; end?: number },
    ): Promise<StoredObject | null>;
    putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
    deleteObject(bucket: string, key: string): Promise<void>;
  }

  export interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory: string;
    configureBuckets?: { name: string; configs?: string[] }[];
  }

  export default class S3rver {
    constructor(options: S3rverOptions);
    middleware: S3rverMiddleware[];
    store: FilesystemStore;
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}

declare module "s3rver/lib/models/error.js" {
  export default class S3Error extends Error {
    constructor(code: string, message?: string, detail?: Record<string, unknown>);
  }
}

declare module "s3rver/lib/models/object.js" {
  import type { Readable } from "node:stream";
  import type { StoredObject } from "s3rver";
  export default class S3Object implements StoredObject {
    constructor(
      bucket: string,
      key: string,
      content: Readable | Buffer | null,
      metadata: Record<string, unknown>,
    );
    bucket: string;
    key: string;
    content: Readable | Buffer | null;
    metadata: Record<string, string>;
    size: number;
  }
}

declare module "s3rver/lib/middleware/authentication.js" {
  import type { S3rverMiddleware } from "s3rver";
  export default function authentication(): S3rverMiddleware;
}
