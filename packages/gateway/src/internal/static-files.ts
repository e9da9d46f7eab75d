/**
 * Static files of a site the gateway serves beside the API (the dashboard at `/dashboard`): looked up
 * under one folder per request, so a folder built or removed later is picked up without a restart, and
 * a missing folder answers 404 like any unknown route.
 *
 * A request path is decoded segment by segment; an empty, `.` or `..` segment, or one that decodes to
 * a separator or a NUL byte, is not a file here (404), and the resolved file must still lie inside the
 * folder once symlinks are followed. Vite's hashed assets (`assets/name-<hash>.js`) never change, so
 * they may be cached for a year; everything else (`index.html`) is revalidated on every load.
 */
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { extname, join, sep } from "node:path";
import { CyberneticError } from "@cybernetic/core";
import { type HeaderPair, Reply, StreamReply } from "./reply.js";

/** The content type of each file extension the site may contain; anything else is a download. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
};

/** `assets/<name>-<hash>.<ext>`, as Vite names what it builds. */
const HASHED_ASSET = /^assets\/(?:[^/]+\/)*[^/]+-[A-Za-z0-9_-]{8,}\.[A-Za-z0-9]+$/;
const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "no-cache";

/**
 * A file of the site: streamed, with the site's own security headers in place of the API's (see
 * `SITE_SECURITY_HEADERS`), which forbid a browser to render a response at all.
 */
export class FileReply extends StreamReply {}

/** Serves one site's files. */
export interface StaticFiles {
  /** The answer for a GET or HEAD of `pathname` (which starts with the mount path). */
  serve(pathname: string, withBody: boolean): Promise<Reply>;
}

const notFound = (pathname: string) =>
  new CyberneticError("not_found", `no route matches GET ${pathname.slice(0, 500)}`, {
    details: { method: "GET", path: pathname.slice(0, 500) },
  });

/** The path's segments below the mount, decoded; undefined when one of them cannot name a file. */
function segmentsOf(rest: string): string[] | undefined {
  const raw = rest === "" ? [] : rest.split("/");
  const segments: string[] = [];
  for (const [i, part] of raw.entries()) {
    // A trailing slash (`/dashboard/`) names the folder's index.
    if (part === "" && i === raw.length - 1) break;
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      return undefined;
    }
    if (decoded === "" || decoded === "." || decoded === "..") return undefined;
    if (/[/\\\0]/.test(decoded)) return undefined;
    segments.push(decoded);
  }
  if (segments.length === 0 || rest.endsWith("/")) segments.push("index.html");
  return segments;
}

/**
 * Serves the files under `root` at `mount` (e.g. `/dashboard`): `mount` itself redirects to `mount/`,
 * `mount/` is `index.html`.
 *
 * @example
 * ```ts
 * const files = createStaticFiles({ root: "/srv/dashboard", mount: "/dashboard" });
 * const reply = await files.serve("/dashboard/assets/index-3f9a1c2b.js", true);
 * ```
 */
export function createStaticFiles(options: { root: string; mount: string }): StaticFiles {
  const { root, mount } = options;
  return {
    async serve(pathname, withBody) {
      if (pathname === mount) {
        return new Reply(308, "", [["location", `${mount}/`]], "text/plain; charset=utf-8");
      }
      if (!pathname.startsWith(`${mount}/`)) throw notFound(pathname);
      const segments = segmentsOf(pathname.slice(mount.length + 1));
      if (segments === undefined) throw notFound(pathname);
      let file: string;
      let size: number;
      try {
        const base = await realpath(root);
        file = await realpath(join(base, ...segments));
        if (!file.startsWith(`${base}${sep}`)) throw notFound(pathname);
        const info = await stat(file);
        if (!info.isFile()) throw notFound(pathname);
        size = info.size;
      } catch (error) {
        if (CyberneticError.isInstance(error)) throw error;
        throw notFound(pathname); // no such file, or no folder at all
      }
      const relative = segments.join("/");
      const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream";
      const headers: HeaderPair[] = [["cache-control", HASHED_ASSET.test(relative) ? IMMUTABLE : REVALIDATE]];
      return new FileReply(200, withBody ? createReadStream(file) : undefined, size, type, headers);
    },
  };
}
