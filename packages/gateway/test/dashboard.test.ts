/**
 * The dashboard's static files at `/dashboard` (`config.dashboardDir`): content types, cache headers for
 * hashed assets, the page's own security headers, HEAD, 405 for writes, 404 JSON for anything outside
 * the folder (traversal in every spelling, symlinks out, directories), and 404 JSON when there is no
 * folder or no dashboard configured, like any unknown route.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { createGateway } from "../src/index.ts";
import { rawRequest, useGateway } from "./helpers/gateway-harness.ts";

const scratch = mkdtempSync(join(tmpdir(), "cyb-dashboard-"));
const root = join(scratch, "dist");
const SECRET = "the-secret-next-to-the-dashboard";
const INDEX =
  '<!doctype html><title>Cybernetic</title><script type="module" src="./assets/index-Ab3dE_f9.js"></script>';
const SCRIPT = "console.log('dashboard');";
mkdirSync(join(root, "assets"), { recursive: true });
writeFileSync(join(root, "index.html"), INDEX);
writeFileSync(join(root, "assets", "index-Ab3dE_f9.js"), SCRIPT);
writeFileSync(join(root, "assets", "index-Zy98xw76.css"), "body{margin:0}");
writeFileSync(join(root, "favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
writeFileSync(join(root, "notes.unknownext"), "x");
writeFileSync(join(scratch, "secret.txt"), SECRET);
symlinkSync(join(scratch, "secret.txt"), join(root, "link-out.txt"));

describe("GET /dashboard", () => {
  const h = useGateway({ config: { dashboardDir: root } });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("redirects /dashboard to /dashboard/, which is index.html, revalidated, with the page's security headers", async () => {
    const redirect = await rawRequest(h.url, { method: "GET", path: "/dashboard" });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get("location")).toBe("/dashboard/");

    for (const path of ["/dashboard/", "/dashboard/index.html"]) {
      const res = await h.request(path);
      expect(res.status, path).toBe(200);
      expect(res.text).toBe(INDEX);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(res.headers.get("x-request-id")).toMatch(/\S/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe-inline");
    }
  });

  it("serves hashed assets with their content type, cached for a year; other files revalidated", async () => {
    const js = await h.request("/dashboard/assets/index-Ab3dE_f9.js");
    expect(js.status).toBe(200);
    expect(js.text).toBe(SCRIPT);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(js.headers.get("content-length")).toBe(String(SCRIPT.length));

    const css = await h.request("/dashboard/assets/index-Zy98xw76.css");
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(css.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");

    const svg = await h.request("/dashboard/favicon.svg");
    expect(svg.headers.get("content-type")).toBe("image/svg+xml");
    expect(svg.headers.get("cache-control")).toBe("no-cache");
    const other = await h.request("/dashboard/notes.unknownext");
    expect(other.headers.get("content-type")).toBe("application/octet-stream");
  });

  it("answers HEAD with the headers only, and 405 JSON to writes", async () => {
    const head = await rawRequest(h.url, { method: "HEAD", path: "/dashboard/assets/index-Ab3dE_f9.js" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(SCRIPT.length));
    expect(head.text).toBe("");

    const post = await h.request("/dashboard/index.html", { method: "POST", body: {} });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect(post.body.error.code).toBe("method_not_allowed");
  });

  it("never serves a file outside the folder: traversal in every spelling, symlinks out, folders, bad escapes", async () => {
    const attempts = [
      "/dashboard/../secret.txt",
      "/dashboard/%2e%2e/secret.txt",
      "/dashboard/%2E%2E/secret.txt",
      "/dashboard/..%2fsecret.txt",
      "/dashboard/..%2Fsecret.txt",
      "/dashboard/%2e%2e%2fsecret.txt",
      "/dashboard/assets/..%2f..%2fsecret.txt",
      "/dashboard/assets/%2e%2e/%2e%2e/secret.txt",
      "/dashboard/..%5csecret.txt",
      "/dashboard/..\\secret.txt",
      "/dashboard/.%2e/secret.txt",
      "/dashboard/%2fetc%2fpasswd",
      "/dashboard//etc/passwd",
      "/dashboard/index.html%00.js",
      "/dashboard/%E0%A4%A",
      "/dashboard/link-out.txt",
      "/dashboard/assets",
      "/dashboard/assets/",
      "/dashboard/missing.js",
      "/dashboardx/index.html",
    ];
    for (const path of attempts) {
      const res = await rawRequest(h.url, { method: "GET", path, headers: { host: "127.0.0.1" } });
      expect([400, 404], `${path}: ${res.status} ${res.text}`).toContain(res.status);
      expect(res.text, path).not.toContain(SECRET);
      expect(res.headers.get("content-type"), path).toBe("application/json; charset=utf-8");
      expect(res.body?.error?.code, path).toMatch(/^(not_found|validation_failed)$/);
    }
  });

  it("is 404 JSON like any unknown route when the folder is missing or no dashboard is configured", async () => {
    for (const config of [{ dashboardDir: join(scratch, "not-built") }, {}]) {
      const gateway = createGateway({ platform: h.db.platform, config, logger: pino({ level: "silent" }) });
      for (const path of ["/dashboard/", "/dashboard/index.html", "/dashboard/assets/index-Ab3dE_f9.js"]) {
        const res = await gateway.app.fetch(new Request(`http://127.0.0.1${path}`));
        expect(res.status, `${JSON.stringify(config)} ${path}`).toBe(404);
        expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
      }
    }
  });
});
