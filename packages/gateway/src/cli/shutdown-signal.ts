/**
 * Resolves with the first SIGTERM or SIGINT. A second one while shutting down exits at once with 1
 * (an impatient Ctrl-C), so a stuck shutdown can always be cut short.
 */
export function shutdownSignal(onForce: (signal: NodeJS.Signals) => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const handler = (signal: NodeJS.Signals) => {
      if (received) {
        onForce(signal);
        return;
      }
      received = true;
      resolve(signal);
    };
    process.on("SIGTERM", handler);
    process.on("SIGINT", handler);
  });
}
