/**
 * The reference deploy's files, validated without a Docker engine: every compose file combination with
 * `docker-compose config`, the scripts with `shellcheck`, the Prometheus config and alert rules with
 * `promtool check` and the rules' unit tests with `promtool test rules`; `docker/.env.example` against the
 * configuration schema; the Dockerfile and the compose files against the rules they promise (non-root, a
 * health check, no secret written in them, pinned images).
 *
 * The validators are Debian packages (docker-compose, shellcheck, prometheus). CI installs them and sets
 * CYBERNETIC_REQUIRE_TOOLS=1, so a missing one fails its test there. Elsewhere (a machine with only Node,
 * where `pnpm test` must still pass) a missing validator is reported and its test runs the checks that need
 * no tool instead: YAML parsing and structure, `sh -n`.
 * The entrypoint and health-check scripts are executed against a native stack in test/e2e.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { environmentSchema, loadConfig } from "../../packages/gateway/src/config.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DOCKER = join(ROOT, "docker");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

/** Whether `tool` runs here; without it, fails when CI requires it, else says so once. */
function available(tool: string, packageName: string): boolean {
  const found = spawnSync(tool, ["--version"], { stdio: "ignore" }).status === 0;
  if (found) return true;
  if (process.env.CYBERNETIC_REQUIRE_TOOLS) {
    throw new Error(`${tool} is missing: apt-get install -y ${packageName} (.ci/run installs it)`);
  }
  console.warn(
    `[deploy] ${tool} is not installed (apt-get install ${packageName}): running the checks that need no tool instead`,
  );
  return false;
}

/** Runs a validator; fails with its output. */
function validate(tool: string, args: string[], cwd = ROOT): string {
  const result = spawnSync(tool, args, { cwd, encoding: "utf8" });
  expect(result.status, `${tool} ${args.join(" ")}\n${result.stdout}${result.stderr}`).toBe(0);
  return `${result.stdout}${result.stderr}`;
}

/** The variables of a `.env` file by section (`# ---` banners), commented defaults included. */
function envSections(text: string): { title: string; variables: Map<string, string | undefined> }[] {
  const sections: { title: string; variables: Map<string, string | undefined> }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^# -{20,}$/.test(line) && /^# [a-z]/.test(lines[i + 1] ?? "")) {
      sections.push({ title: (lines[i + 1] as string).slice(2), variables: new Map() });
      i += 2;
      continue;
    }
    const match = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match && sections.length > 0) {
      const previous = lines[i - 1] ?? "";
      expect(previous.startsWith("#"), `${match[2]} has no comment above it`).toBe(true);
      sections.at(-1)?.variables.set(match[2] as string, match[1] ? undefined : (match[3] as string));
    }
  }
  return sections;
}

const ENV_EXAMPLE = read("docker/.env.example");
const sections = envSections(ENV_EXAMPLE);
const allVariables = new Map(sections.flatMap((s) => [...s.variables]));

describe("docker/.env.example", () => {
  it("lists exactly the variables of the configuration schema, each with a comment", () => {
    const cybernetic = sections.find((s) => s.title.startsWith("cybernetic"));
    expect(cybernetic, "a 'cybernetic' section").toBeDefined();
    expect([...(cybernetic?.variables.keys() ?? [])].sort()).toEqual(
      Object.keys(environmentSchema.shape).sort(),
    );
    // The other sections name no schema variable (each is said once).
    for (const section of sections.filter((s) => s !== cybernetic))
      for (const name of section.variables.keys()) expect(name in environmentSchema.shape, name).toBe(false);
  });

  it("is a valid configuration as it stands (its set values pass the schema)", () => {
    const cybernetic = sections.find((s) => s.title.startsWith("cybernetic"));
    const env = Object.fromEntries(
      [...(cybernetic?.variables ?? [])].filter((e): e is [string, string] => e[1] !== undefined),
    );
    const config = loadConfig(env);
    expect(config.storage.driver).toBe("s3");
    expect(config.database.url).toContain("@db:5432/");
    expect(config.workerPort).toBe(9464);
    // The db service's password is the owner URL's: the two must agree.
    expect(new URL(env.DATABASE_OWNER_URL ?? "").password).toBe(allVariables.get("POSTGRES_PASSWORD"));
  });

  it("every secret is a change-me placeholder", () => {
    for (const [name, value] of allVariables) {
      if (value === undefined || !/PASSWORD|SECRET|ADMIN_KEY|TOKEN/.test(name)) continue;
      expect(value, name).toMatch(/^change-me/);
    }
  });
});

describe("docker compose files", () => {
  const files = readdirSync(DOCKER).filter((f) => /^docker-compose(\.[a-z]+)?\.yml$/.test(f));
  const overrides = files.filter((f) => f !== "docker-compose.yml");
  // The base alone, with each override, and with all of them.
  const combinations = [
    ["docker-compose.yml"],
    ...overrides.map((f) => ["docker-compose.yml", f]),
    ["docker-compose.yml", ...overrides],
  ];
  const scratch = mkdtempSync(join(tmpdir(), "cybernetic-compose-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  // A copy with docker/.env made from the example, as an operator's first step does.
  cpSync(DOCKER, join(scratch, "docker"), { recursive: true });
  writeFileSync(join(scratch, "docker", ".env"), ENV_EXAMPLE);

  it("are the base, a dev and a prod override", () => {
    expect(files.sort()).toEqual(["docker-compose.dev.yml", "docker-compose.prod.yml", "docker-compose.yml"]);
  });

  it.each(combinations.map((c) => [c.join(" + "), c]))("%s: docker-compose config accepts it", (_, combo) => {
    const args = (combo as string[]).flatMap((f) => ["-f", f]);
    if (available("docker-compose", "docker-compose")) {
      const out = validate("docker-compose", [...args, "config", "--quiet"], join(scratch, "docker"));
      expect(out).not.toMatch(/warn/i);
    } else {
      for (const f of combo as string[]) expect(parse(read(`docker/${f}`))).toHaveProperty("services");
    }
  });

  const base = parse(read("docker/docker-compose.yml"), { merge: true }) as {
    services: Record<string, Record<string, unknown>>;
  };
  const prod = parse(read("docker/docker-compose.prod.yml"), { merge: true }) as {
    services: Record<string, Record<string, unknown>>;
  };

  it("has the services, health checks and start-up conditions the stack needs", () => {
    expect(Object.keys(base.services).sort()).toEqual(
      ["db", "gateway", "grafana", "minio", "minio-init", "prometheus", "worker"].sort(),
    );
    const db = base.services.db as { healthcheck: { test: string[] } };
    expect(db.healthcheck.test).toEqual(expect.arrayContaining(["pg_isready", "-h", "127.0.0.1"]));
    const gateway = base.services.gateway as {
      depends_on: Record<string, { condition: string }>;
      command: string[];
    };
    expect(gateway.depends_on).toEqual({
      db: { condition: "service_healthy" },
      "minio-init": { condition: "service_completed_successfully" },
    });
    const worker = base.services.worker as {
      command: string[];
      depends_on: Record<string, { condition: string }>;
    };
    expect(worker.command).toEqual(["worker"]);
    expect(worker.depends_on.gateway).toEqual({ condition: "service_healthy" });
    for (const name of ["db", "minio", "gateway", "worker"])
      expect(base.services[name], name).toHaveProperty("healthcheck");
  });

  it("writes no secret: every password, key and token comes from docker/.env", () => {
    const texts = files.map((f) => read(`docker/${f}`));
    for (const text of texts) {
      for (const [, key, value] of text.matchAll(
        /^\s+([A-Z_]*(?:PASSWORD|SECRET|TOKEN|ADMIN_KEY|ROOT_USER)[A-Z_]*):\s*(.+)$/gm,
      ))
        expect(value?.trim(), key).toMatch(/^\$\{[A-Z0-9_]+(:\?[^}]*)?\}$|^""$/);
      // Every variable a compose file interpolates is defined in the example (or has a default there).
      for (const [, name, fallback] of text.matchAll(/\$\{([A-Z0-9_]+)(:-[^}]*)?[^}]*\}/g)) {
        if (fallback) continue;
        expect(allVariables.has(name as string), `${name} is not in docker/.env.example`).toBe(true);
      }
    }
  });

  it("pins every image, and the production override scales the gateway without container names, read-only", () => {
    for (const [name, service] of Object.entries(base.services)) {
      const image = String(service.image ?? "");
      expect(image, name).not.toMatch(/:latest$/);
      if (!image.startsWith("${")) expect(image, name).toMatch(/:[\w.-]+$/);
      expect(service).not.toHaveProperty("container_name");
    }
    const gateway = prod.services.gateway as {
      deploy: { replicas: unknown; resources: unknown };
      read_only: boolean;
      restart: string;
    };
    expect(gateway.deploy.replicas).toBeDefined();
    expect(gateway.deploy.resources).toBeDefined();
    expect(gateway.read_only).toBe(true);
    expect(gateway.restart).toBe("unless-stopped");
  });
});

describe("the Dockerfile", () => {
  const dockerfile = read("Dockerfile");
  it("builds with pnpm in one stage and runs the deployed gateway as a non-root user on Node LTS", () => {
    const stages = [...dockerfile.matchAll(/^FROM (\S+)(?: AS (\w+))?$/gm)].map((m) => m[2]);
    expect(stages).toEqual(["build", "runtime"]);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:(22|24)-[\w-]+$/m);
    expect(dockerfile).toContain("pnpm install --frozen-lockfile");
    expect(dockerfile).toContain("pnpm --filter @cybernetic/gateway deploy --prod");
    const runtime = dockerfile.slice(dockerfile.indexOf("AS runtime"));
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*healthcheck\.sh/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["\/usr\/local\/bin\/entrypoint\.sh"\]$/m);
    expect(read(".dockerignore")).toMatch(/^\*\*\/node_modules$/m);
  });
});

describe("scripts", () => {
  const scripts = ["docker/scripts/entrypoint.sh", "docker/scripts/healthcheck.sh", ".ci/run"];
  it.each(scripts)("%s passes shellcheck (sh -n without it)", (script) => {
    if (available("shellcheck", "shellcheck")) validate("shellcheck", [script]);
    else validate(script.endsWith(".sh") ? "sh" : "bash", ["-n", script]);
    expect(execFileSync("test", ["-x", join(ROOT, script)]).length).toBe(0);
  });
});

describe("Prometheus", () => {
  const config = "docker/prometheus/prometheus.yml";
  const rules = "docker/prometheus/alerts.yml";
  it("promtool checks the config and the alert rules, and their unit tests pass", () => {
    if (available("promtool", "prometheus")) {
      validate("promtool", ["check", "config", config]);
      expect(validate("promtool", ["check", "rules", rules])).toMatch(/SUCCESS: \d+ rules found/);
      expect(
        validate("promtool", ["test", "rules", "alerts.test.yml"], join(DOCKER, "prometheus")),
      ).toContain("SUCCESS");
    } else {
      const parsed = parse(read(rules)) as { groups: { rules: { alert: string; expr: string }[] }[] };
      for (const rule of parsed.groups.flatMap((g) => g.rules)) expect(rule.expr, rule.alert).toBeTruthy();
    }
  });

  it("alerts on what the issue names: gateway down, error rate, p99 latency, backlog, dead letters, SSE drops", () => {
    const parsed = parse(read(rules)) as { groups: { rules: { alert: string }[] }[] };
    const alerts = parsed.groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const alert of [
      "CyberneticGatewayDown",
      "CyberneticHighErrorRate",
      "CyberneticHighLatencyP99",
      "CyberneticQueueBacklog",
      "CyberneticDeadLetters",
      "CyberneticSseSlowConsumerDrops",
    ])
      expect(alerts).toContain(alert);
    const scraped = parse(read(config)) as { scrape_configs: { job_name: string }[] };
    expect(scraped.scrape_configs.map((s) => s.job_name)).toEqual(
      expect.arrayContaining(["cybernetic-gateway", "cybernetic-worker"]),
    );
  });
});

describe("Grafana", () => {
  it("provisions the Prometheus data source and a dashboard whose panels all use it", () => {
    const datasource = parse(read("docker/grafana/provisioning/datasources/prometheus.yml")) as {
      datasources: { uid: string; url: string }[];
    };
    const uid = datasource.datasources[0]?.uid;
    expect(datasource.datasources[0]?.url).toBe("http://prometheus:9090");
    const provider = parse(read("docker/grafana/provisioning/dashboards/cybernetic.yml")) as {
      providers: { options: { path: string } }[];
    };
    expect(read("docker/docker-compose.yml")).toContain(
      `./grafana/dashboards:${provider.providers[0]?.options.path}`,
    );
    const dashboard = JSON.parse(read("docker/grafana/dashboards/cybernetic.json")) as {
      uid: string;
      panels: { id: number; title: string; datasource: { uid: string }; targets: { expr: string }[] }[];
    };
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid, panel.title).toBe(uid);
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
    }
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join(" | ");
    for (const topic of ["requests", "latency", "error", "sse", "queue depth", "job outcomes", "telegram"])
      expect(titles).toContain(topic);
  });
});
