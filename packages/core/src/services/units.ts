import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import {
  createUnitSchema,
  listUnitsSchema,
  MAX_UNIT_DEPTH,
  MAX_UNITS_PER_TENANT,
  moveUnitSchema,
  type Unit,
  updateUnitSchema,
} from "../contract/units.js";
import type { Db } from "../database.js";
import { CyberneticError } from "../errors.js";
import { appendEvent } from "../events/append-event.js";
import { mapPgError } from "../internal/pg-errors.js";
import { parseInput } from "../internal/validation.js";
import { type TenantTransaction, withTenant } from "../tenant-context.js";
import { depthFirst, rootUnitIn, toUnit, type UnitRow, unitIn } from "./unit-records.js";

/**
 * Recursion: a tenant is the root of a tree of viable units, each with its own S1..S5 states. Units are
 * created, renamed, moved and archived, never deleted.
 */
export interface UnitService {
  /**
   * Every unit of the tenant in depth-first order (the root first); archived ones only when asked.
   *
   * @example
   * ```ts
   * const [root, ...below] = await platform.units.list(tenantId);
   * ```
   */
  list(tenantId: string, input?: unknown): Promise<Unit[]>;
  /** One unit; `not_found` for unknown ids and other tenants' ids alike. */
  get(tenantId: string, id: string): Promise<Unit>;
  /** The root unit: the tenant itself, whose states are `/v1/systems`. */
  root(tenantId: string): Promise<Unit>;
  /** A unit and every unit below it, depth-first. */
  subtree(tenantId: string, id: string, input?: unknown): Promise<Unit[]>;
  /**
   * Creates a unit below `parentId` (default the root) with its five system states, and writes
   * `unit.created`, in one transaction.
   *
   * @example
   * ```ts
   * const plant = await platform.units.create(tenantId, { name: "Plant", slug: "plant" });
   * await platform.units.create(tenantId, { name: "Line 1", slug: "line-1", parentId: plant.id });
   * ```
   * @throws CyberneticError `duplicate` (slug taken among the siblings), `conflict` (`details.reason`
   * `max_depth`, `max_units` or `archived_parent`), `validation_failed`.
   */
  create(tenantId: string, input: unknown): Promise<Unit>;
  /** Renames a unit or changes its alerting; writes `unit.updated`. */
  update(tenantId: string, id: string, input: unknown): Promise<Unit>;
  /**
   * Moves a unit (with everything below it) under another parent; writes `unit.moved`. A move below the
   * unit itself or one of its descendants would make a cycle and is refused.
   *
   * @throws CyberneticError `conflict` (`details.reason` `cycle`, `root`, `max_depth` or
   * `archived_parent`), `duplicate` (the slug is taken under the new parent).
   */
  move(tenantId: string, id: string, input: unknown): Promise<Unit>;
  /**
   * Archives a unit with no active children; writes `unit.archived`. Idempotent.
   *
   * @throws CyberneticError `conflict` (`details.reason` `root` or `has_children`).
   */
  archive(tenantId: string, id: string): Promise<Unit>;
}

const conflict = (reason: string, message: string, details: Record<string, unknown> = {}) =>
  new CyberneticError("conflict", message, { details: { reason, ...details } });

const slugTaken = (slug: string) => ({
  units_sibling_slug_idx: `a unit with slug "${slug}" already exists under this parent`,
});

/**
 * Serialises changes to one tenant's tree: two concurrent moves could each pass the cycle check against
 * the tree as it was and together make a cycle.
 */
const lockTree = (trx: TenantTransaction, tenantId: string) =>
  sql`select pg_advisory_xact_lock(hashtextextended(${`cybernetic.units:${tenantId}`}, 0))`.execute(trx);

/** Writes a new unit's five system states (version 1, empty) and their first history entries. */
export async function insertUnitStates(trx: TenantTransaction, tenantId: string, unitId: string) {
  const systems = [1, 2, 3, 4, 5];
  await trx
    .insertInto("system_states")
    .values(systems.map((system) => ({ tenant_id: tenantId, unit_id: unitId, system, state: "{}" })))
    .execute();
  await trx
    .insertInto("system_state_history")
    .values(
      systems.map((system) => ({ tenant_id: tenantId, unit_id: unitId, system, version: 1, state: "{}" })),
    )
    .execute();
}

/** Creates the unit service. */
export function createUnitService(db: Db): UnitService {
  const read = <T>(tenantId: string, fn: (trx: TenantTransaction) => Promise<T>) =>
    withTenant(db, tenantId, fn, { readOnly: true });

  const usableParent = async (trx: TenantTransaction, parentId: string | undefined): Promise<UnitRow> => {
    const parent = parentId === undefined ? await rootUnitIn(trx) : await unitIn(trx, parentId);
    if (parent.archived_at !== null) {
      throw conflict("archived_parent", `unit ${parent.id} is archived: it cannot take new children`, {
        parentId: parent.id,
      });
    }
    return parent;
  };

  return {
    async list(tenantId, raw = {}) {
      const input = parseInput(listUnitsSchema, raw, "query");
      return read(tenantId, async (trx) => {
        let q = trx.selectFrom("units").selectAll().limit(MAX_UNITS_PER_TENANT);
        if (!input.includeArchived) q = q.where("archived_at", "is", null);
        return depthFirst(await q.execute()).map(toUnit);
      });
    },

    async get(tenantId, id) {
      return toUnit(await read(tenantId, (trx) => unitIn(trx, id)));
    },

    async root(tenantId) {
      return toUnit(await read(tenantId, rootUnitIn));
    },

    async subtree(tenantId, id, raw = {}) {
      const input = parseInput(listUnitsSchema, raw, "query");
      return read(tenantId, async (trx) => {
        const top = await unitIn(trx, id);
        let q = trx
          .selectFrom("units")
          .selectAll()
          .where(sql<boolean>`path @> array[${top.id}]::uuid[]`)
          .limit(MAX_UNITS_PER_TENANT);
        if (!input.includeArchived) q = q.where("archived_at", "is", null);
        return depthFirst(await q.execute()).map(toUnit);
      });
    },

    async create(tenantId, raw) {
      const input = parseInput(createUnitSchema, raw, "unit");
      return withTenant(db, tenantId, async (trx) => {
        await lockTree(trx, tenantId);
        const parent = await usableParent(trx, input.parentId);
        if (parent.depth + 1 > MAX_UNIT_DEPTH) {
          throw conflict("max_depth", `units may be at most ${MAX_UNIT_DEPTH} levels below the root`, {
            maxDepth: MAX_UNIT_DEPTH,
          });
        }
        const { n } = await trx
          .selectFrom("units")
          .select((eb) => eb.fn.countAll<string>().as("n"))
          .executeTakeFirstOrThrow();
        if (Number(n) >= MAX_UNITS_PER_TENANT) {
          throw conflict("max_units", `a tenant may have at most ${MAX_UNITS_PER_TENANT} units`, {
            maxUnits: MAX_UNITS_PER_TENANT,
          });
        }
        const id = randomUUID();
        const row = await trx
          .insertInto("units")
          .values({
            id,
            tenant_id: tenantId,
            parent_id: parent.id,
            name: input.name,
            slug: input.slug,
            path: [...parent.path, id],
            depth: parent.depth + 1,
            alerts: JSON.stringify(input.alerts),
            escalation_seconds: input.escalationSeconds,
            state_interval_seconds: input.stateIntervalSeconds,
          })
          .returningAll()
          .executeTakeFirstOrThrow()
          .catch((e: unknown) => {
            throw mapPgError(e, slugTaken(input.slug));
          });
        await insertUnitStates(trx, tenantId, id);
        await appendEvent(trx, tenantId, "unit.created", {
          unitId: id,
          parentId: parent.id,
          name: row.name,
          slug: row.slug,
        });
        return toUnit(row);
      });
    },

    async update(tenantId, id, raw) {
      const input = parseInput(updateUnitSchema, raw, "unit update");
      return withTenant(db, tenantId, async (trx) => {
        const current = await unitIn(trx, id, { forUpdate: true });
        const row = await trx
          .updateTable("units")
          .set({
            ...(input.name === undefined ? {} : { name: input.name }),
            ...(input.slug === undefined ? {} : { slug: input.slug }),
            ...(input.alerts === undefined ? {} : { alerts: JSON.stringify(input.alerts) }),
            ...(input.escalationSeconds === undefined ? {} : { escalation_seconds: input.escalationSeconds }),
            ...(input.stateIntervalSeconds === undefined
              ? {}
              : { state_interval_seconds: input.stateIntervalSeconds }),
            updated_at: sql<Date>`now()`,
          })
          .where("id", "=", current.id)
          .returningAll()
          .executeTakeFirstOrThrow()
          .catch((e: unknown) => {
            throw mapPgError(e, slugTaken(input.slug ?? current.slug));
          });
        await appendEvent(trx, tenantId, "unit.updated", { unitId: row.id, name: row.name, slug: row.slug });
        return toUnit(row);
      });
    },

    async move(tenantId, id, raw) {
      const input = parseInput(moveUnitSchema, raw, "unit move");
      return withTenant(db, tenantId, async (trx) => {
        await lockTree(trx, tenantId);
        const unit = await unitIn(trx, id);
        if (unit.parent_id === null) throw conflict("root", "the root unit cannot be moved");
        const parent = await usableParent(trx, input.parentId);
        if (parent.path.includes(unit.id)) {
          throw conflict("cycle", "a unit cannot be moved below itself or one of its descendants", {
            unitId: unit.id,
            parentId: parent.id,
          });
        }
        if (parent.id === unit.parent_id) return toUnit(unit);
        const { deepest } = await trx
          .selectFrom("units")
          .select((eb) => eb.fn.max("depth").as("deepest"))
          .where(sql<boolean>`path @> array[${unit.id}]::uuid[]`)
          .executeTakeFirstOrThrow();
        const depth = parent.depth + 1;
        if (depth + (Number(deepest) - unit.depth) > MAX_UNIT_DEPTH) {
          throw conflict(
            "max_depth",
            `the move would put units more than ${MAX_UNIT_DEPTH} levels below the root`,
            { maxDepth: MAX_UNIT_DEPTH },
          );
        }
        // Parent first (the sibling-slug index names the new parent), then every path of the subtree: the
        // new parent's path replaces everything above the moved unit.
        await trx
          .updateTable("units")
          .set({ parent_id: parent.id })
          .where("id", "=", unit.id)
          .execute()
          .catch((e: unknown) => {
            throw mapPgError(e, slugTaken(unit.slug));
          });
        await trx
          .updateTable("units")
          .set({
            path: sql<string[]>`${parent.path}::uuid[] || path[${unit.depth + 1}:cardinality(path)]`,
            depth: sql<number>`depth - ${unit.depth} + ${depth}`,
            updated_at: sql<Date>`now()`,
          })
          .where(sql<boolean>`path @> array[${unit.id}]::uuid[]`)
          .execute();
        await appendEvent(trx, tenantId, "unit.moved", {
          unitId: unit.id,
          fromParentId: unit.parent_id,
          toParentId: parent.id,
          depth,
        });
        return toUnit(await unitIn(trx, unit.id));
      });
    },

    async archive(tenantId, id) {
      return withTenant(db, tenantId, async (trx) => {
        await lockTree(trx, tenantId);
        const unit = await unitIn(trx, id, { forUpdate: true });
        if (unit.parent_id === null) throw conflict("root", "the root unit cannot be archived");
        if (unit.archived_at !== null) return toUnit(unit);
        const child = await trx
          .selectFrom("units")
          .select("id")
          .where("parent_id", "=", unit.id)
          .where("archived_at", "is", null)
          .limit(1)
          .executeTakeFirst();
        if (child) {
          throw conflict("has_children", "archive or move the unit's children first", {
            childId: child.id,
          });
        }
        const row = await trx
          .updateTable("units")
          .set({ archived_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
          .where("id", "=", unit.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        await appendEvent(trx, tenantId, "unit.archived", { unitId: row.id });
        return toUnit(row);
      });
    },
  };
}
