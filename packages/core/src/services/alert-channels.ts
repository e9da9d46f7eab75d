/** One alert channel: where algedonic alerts go (`tenant.settings.alerts`, a unit's `alerts`). */
export interface AlertChannel {
  channel: "telegram" | "webhook" | "event";
  to: string;
}

/**
 * Reads the alert channels from settings shaped `{ "alerts": [{ "channel": "telegram", "to": "-100…" }] }`
 * (a tenant's settings, or a unit's `{ alerts }`). Malformed entries are ignored (settings are
 * free-form JSON).
 *
 * @example
 * ```ts
 * alertChannels({ alerts: [{ channel: "event", to: "ops" }, { channel: "fax" }] }); // [{ channel: "event", to: "ops" }]
 * ```
 */
export function alertChannels(settings: Record<string, unknown>): AlertChannel[] {
  const raw = settings.alerts;
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((entry): AlertChannel[] => {
    if (typeof entry !== "object" || entry === null) return [];
    const { channel, to } = entry as Record<string, unknown>;
    if (
      (channel === "telegram" || channel === "webhook" || channel === "event") &&
      typeof to === "string" &&
      to
    ) {
      return [{ channel, to }];
    }
    return [];
  });
}
