import { type Selectable, sql } from "kysely";
import {
  cursorSchema,
  limitSchema,
  type Page,
  type SystemNumber,
  systemNames,
  systemSchema,
} from "../contract/common.js";
import {
  type SystemState,
  type SystemStateHistoryEntry,
  updateSystemStateSchema,
} from "../contract/systems.js";
import type { Db } from "../database.js";
import { notFound, versionConflict } from "../errors.js";
import { decodeCursor, encodeCursor, isInteger } from "../internal/cursor.js";
import { applyMergePatch } from "../internal/merge-patch.js";
import { appendEvent } from "../internal/outbox.js";
import { iso } from "../internal/time.js";
import { parseInput } from "../internal/validation.js";
import type { JsonObject, SystemStatesTable } from "../schema.js";
import { type TenantTransaction, withTenant } from "../tenant-context.js";

/** The five system states of a tenant, versioned, with history. */
export interface SystemStateService {
  /** All five systems, S1..S5. */
  list(tenantId: string): Promise<SystemState[]>;
  /** One system (1..5). */
  get(tenantId: string, system: number | string): Promise<SystemState>;
  /**
   * Replaces a system's state if `version` is current; writes history and `system.state_changed`.
   *
   * @example
   * ```ts
   * const s3 = await platform.systems.get(tenantId, 3);
   * await platform.systems.update(tenantId, 3, { state: { budget: 120 }, version: s3.version });
   * ```
   * @throws CyberneticError `version_conflict` when `version` is stale.
   */
  update(tenantId: string, system: number | string, input: unknown): Promise<SystemState>;
  /**
   * Applies a JSON merge patch inside an existing transaction (used by policy `set_state` actions).
   * With `expectedVersion` a stale version is a conflict; without it the patch applies to the latest.
   */
  patchIn(
    trx: TenantTransaction,
    tenantId: string,
    system: SystemNumber,
    patch: JsonObject,
    expectedVersion?: number,
  ): Promise<SystemState>;
  /** A system's history, newest first, keyset-paginated by version. */
  history(
    tenantId: string,
    system: number | string,
    input?: { limit?: unknown; cursor?: unknown },
  ): Promise<Page<SystemStateHistoryEntry>>;
}

function toState(row: Selectable<SystemStatesTable>): SystemState {
  const system = row.system as SystemNumber;
  return {
    system,
    name: systemNames[system],
    state: row.state,
    version: row.version,
    updatedAt: iso(row.updated_at),
  };
}

const parseSystem = (value: number | string) => parseInput(systemSchema, value, "system") as SystemNumber;

/** Creates the system-state service. */
export function createSystemStateService(db: Db): SystemStateService {
  const write = async (
    trx: TenantTransaction,
    tenantId: string,
    system: SystemNumber,
    next: (current: JsonObject) => JsonObject,
    expectedVersion: number | undefined,
  ): Promise<SystemState> => {
    // Lock the row so a concurrent writer waits and then sees the new version.
    const current = await trx
      .selectFrom("system_states")
      .selectAll()
      .where("system", "=", system)
      .forUpdate()
      .executeTakeFirst();
    if (!current) throw notFound("system", String(system));
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      throw versionConflict(`system ${system} state`, expectedVersion, current.version);
    }
    const state = next(current.state);
    const row = await trx
      .updateTable("system_states")
      .set({ state: JSON.stringify(state), version: current.version + 1, updated_at: sql<Date>`now()` })
      .where("system", "=", system)
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto("system_state_history")
      .values({ tenant_id: tenantId, system, version: row.version, state: JSON.stringify(state) })
      .execute();
    await appendEvent(trx, tenantId, "system.state_changed", {
      system,
      version: row.version,
      previousVersion: current.version,
    });
    return toState(row);
  };

  return {
    list: (tenantId) =>
      withTenant(
        db,
        tenantId,
        async (trx) =>
          (await trx.selectFrom("system_states").selectAll().orderBy("system").execute()).map(toState),
        { readOnly: true },
      ),

    async get(tenantId, raw) {
      const system = parseSystem(raw);
      const row = await withTenant(
        db,
        tenantId,
        (trx) => trx.selectFrom("system_states").selectAll().where("system", "=", system).executeTakeFirst(),
        { readOnly: true },
      );
      if (!row) throw notFound("system", String(system));
      return toState(row);
    },

    async update(tenantId, raw, body) {
      const system = parseSystem(raw);
      const input = parseInput(updateSystemStateSchema, body, "system state");
      return withTenant(db, tenantId, (trx) =>
        write(trx, tenantId, system, () => input.state as JsonObject, input.version),
      );
    },

    patchIn: (trx, tenantId, system, patch, expectedVersion) =>
      write(trx, tenantId, system, (current) => applyMergePatch(current, patch), expectedVersion),

    async history(tenantId, raw, input = {}) {
      const system = parseSystem(raw);
      const limit = parseInput(limitSchema, input.limit, "limit");
      const cursor =
        input.cursor === undefined ? undefined : parseInput(cursorSchema, input.cursor, "cursor");
      const before = cursor === undefined ? undefined : decodeCursor<[number]>(cursor, [isInteger])[0];
      const rows = await withTenant(
        db,
        tenantId,
        (trx) => {
          let q = trx
            .selectFrom("system_state_history")
            .selectAll()
            .where("system", "=", system)
            .orderBy("version", "desc")
            .limit(limit + 1);
          if (before !== undefined) q = q.where("version", "<", before);
          return q.execute();
        },
        { readOnly: true },
      );
      const items = rows.slice(0, limit).map((r) => ({
        system: r.system as SystemNumber,
        version: r.version,
        state: r.state,
        changedAt: iso(r.changed_at),
      }));
      const last = items.at(-1);
      return rows.length > limit && last ? { items, nextCursor: encodeCursor([last.version]) } : { items };
    },
  };
}
