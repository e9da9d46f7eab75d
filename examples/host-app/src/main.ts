/**
 * The host app's entry point: `pnpm --filter @cybernetic/example-host-app start`. Reads the
 * configuration from the environment, starts the app, and on SIGTERM or SIGINT stops it gracefully and
 * exits 0. A second signal while stopping exits at once with 1.
 */
import { hostAppConfigFromEnv } from "./config.js";
import { startHostApp } from "./host-app.js";
import { createJsonLogger } from "./logger.js";

/**
 * A repeat of the first signal this soon is the same Ctrl-C delivered twice, not an impatient second
 * one: a terminal signals its whole foreground process group, and pnpm, in that group, forwards SIGINT
 * to its script again a moment later.
 */
const REPEAT_WINDOW_MS = 1_000;

/** Resolves with the first SIGTERM/SIGINT; a later one (past the repeat window) calls `force`. */
function shutdownSignal(force: (signal: NodeJS.Signals) => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let first: number | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (first === undefined) {
        first = Date.now();
        resolve(signal);
      } else if (Date.now() - first >= REPEAT_WINDOW_MS) {
        force(signal);
      }
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

async function main(): Promise<number> {
  let config: ReturnType<typeof hostAppConfigFromEnv>;
  try {
    config = hostAppConfigFromEnv(process.env);
  } catch (error) {
    process.stderr.write(`host-app: ${(error as Error).message}\n`);
    return 1;
  }
  const logger = createJsonLogger(config.logLevel);
  // Listening before the start: a signal during the start stops the app as soon as it is up.
  const signal = shutdownSignal((again) => {
    logger.warn({ signal: again }, "second signal: exiting without waiting");
    process.exit(1);
  });
  let app: Awaited<ReturnType<typeof startHostApp>>;
  try {
    app = await startHostApp({ config, logger });
  } catch (error) {
    logger.error({ err: error }, `could not start: ${(error as Error).message}`);
    return 1;
  }
  logger.info({ signal: await signal }, "signal received");
  await app.stop();
  return 0;
}

// Exit explicitly: the work is done and released, and a stray timer must not keep the process alive.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`host-app: ${String(error)}\n`);
    process.exit(1);
  },
);
