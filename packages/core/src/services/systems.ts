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
import { appendEvent } from "../events/append-event.js";
import { decodeCursor, encodeCursor, isInteger } from "../internal/cursor.js";
import { applyMergePatch } from "../internal/merge-patch.js";
import { iso } from "../internal/time.js";
import { parseInput } from "../internal/validation.js";
import type { JsonObject, SystemStatesTable } from "../schema.js";
import { type TenantTransaction, withTenant } from "../tenant-context.js";
import { unitIn } from "./unit-records.js";

/** Which unit a system-state call is about: the root unit (the tenant itself) when `unitId` is absent. */
export interface SystemStateScope {
  unitId?: string;
}

/** The five system states of each unit, versioned, with history. */
export interface SystemStateService {
  /** All five systems, S1..S5, of the root unit or of `scope.unitId`. */
  list(tenantId: string, scope?: SystemStateScope): Promise<SystemState[]>;
  /** One system (1..5). */
  get(tenantId: string, system: number | string, scope?: SystemStateScope): Promise<SystemState>;
  /**
   * Replaces a system's state if `version` is current; writes history and `system.state_changed`.
   *
   * @example
   * ```ts
   * const s3 = await platform.systems.get(tenantId, 3);
   * await platform.systems.update(tenantId, 3, { state: { budget: 120 }, version: s3.version });
   * await platform.systems.update(tenantId, 1, { state: { shift: "night" }, version: 1 }, { unitId: line.id });
   * ```
   * @throws CyberneticError `version_conflict` when `version` is stale; `not_found` for an unknown unit.
   */
  update(
    tenantId: string,
    system: number | string,
    input: unknown,
    scope?: SystemStateScope,
  ): Promise<SystemState>;
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
    scope?: SystemStateScope,
  ): Promise<SystemState>;
  /** Every version of a system's state, the current one included, newest first; keyset-paginated by version. */
  history(
    tenantId: string,
    system: number | string,
    input?: { limit?: unknown; cursor?: unknown },
    scope?: SystemStateScope,
  ): Promise<Page<SystemStateHistoryEntry>>;
}

function toState(row: Selectable<SystemStatesTable>): SystemState {
  const system = row.system as SystemNumber;
  return {
    system,
    unitId: row.unit_id,
    name: systemNames[system],
    state: row.state,
    version: row.version,
    updatedAt: iso(row.updated_at),
  };
}

const parseSystem = (value: number | string) => parseInput(systemSchema, value, "system") as SystemNumber;

/**
 * The unit id of a scope, as a SQL expression: the named unit (checked to exist, else `not_found`), or the
 * root unit's id as a subquery, so the common root case costs no extra round trip.
 */
async function unitOf(trx: TenantTransaction, scope: SystemStateScope | undefined) {
  if (scope?.unitId === undefined)
    return sql<string>`(select id from cybernetic.units where parent_id is null)`;
  const unit = await unitIn(trx, scope.unitId);
  return sql<string>`${unit.id}::uuid`;
}

/** Creates the system-state service. */
export function createSystemStateService(db: Db): SystemStateService {
  const write = async (
    trx: TenantTransaction,
    tenantId: string,
    system: SystemNumber,
    next: (current: JsonObject) => JsonObject,
    expectedVersion: number | undefined,
    scope: SystemStateScope | undefined,
  ): Promise<SystemState> => {
    const unit = await unitOf(trx, scope);
    // Lock the row so a concurrent writer waits and then sees the new version.
    const current = await trx
      .selectFrom("system_states")
      .selectAll()
      .where("unit_id", "=", unit)
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
      .where("unit_id", "=", current.unit_id)
      .where("system", "=", system)
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto("system_state_history")
      .values({
        tenant_id: tenantId,
        unit_id: current.unit_id,
        system,
        version: row.version,
        state: JSON.stringify(state),
      })
      .execute();
    await appendEvent(trx, tenantId, "system.state_changed", {
      system,
      version: row.version,
      previousVersion: current.version,
      unitId: current.unit_id,
    });
    return toState(row);
  };

  return {
    list: (tenantId, scope) =>
      withTenant(
        db,
        tenantId,
        async (trx) => {
          const unit = await unitOf(trx, scope);
          const rows = await trx
            .selectFrom("system_states")
            .selectAll()
            .where("unit_id", "=", unit)
            .orderBy("system")
            .execute();
          return rows.map(toState);
        },
        { readOnly: true },
      ),

    async get(tenantId, raw, scope) {
      const system = parseSystem(raw);
      const row = await withTenant(
        db,
        tenantId,
        async (trx) =>
          trx
            .selectFrom("system_states")
            .selectAll()
            .where("unit_id", "=", await unitOf(trx, scope))
            .where("system", "=", system)
            .executeTakeFirst(),
        { readOnly: true },
      );
      if (!row) throw notFound("system", String(system));
      return toState(row);
    },

    async update(tenantId, raw, body, scope) {
      const system = parseSystem(raw);
      const input = parseInput(updateSystemStateSchema, body, "system state");
      return withTenant(db, tenantId, (trx) =>
        write(trx, tenantId, system, () => input.state as JsonObject, input.version, scope),
      );
    },

    patchIn: (trx, tenantId, system, patch, expectedVersion, scope) =>
      write(trx, tenantId, system, (current) => applyMergePatch(current, patch), expectedVersion, scope),

    async history(tenantId, raw, input = {}, scope) {
      const system = parseSystem(raw);
      const limit = parseInput(limitSchema, input.limit, "limit");
      const cursor =
        input.cursor === undefined ? undefined : parseInput(cursorSchema, input.cursor, "cursor");
      const before = cursor === undefined ? undefined : decodeCursor<[number]>(cursor, [isInteger])[0];
      const rows = await withTenant(
        db,
        tenantId,
        async (trx) => {
          let q = trx
            .selectFrom("system_state_history")
            .selectAll()
            .where("unit_id", "=", await unitOf(trx, scope))
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
        unitId: r.unit_id,
        version: r.version,
        state: r.state,
        changedAt: iso(r.changed_at),
      }));
      const last = items.at(-1);
      return rows.length > limit && last ? { items, nextCursor: encodeCursor([last.version]) } : { items };
    },
  };
}
