import { type Selectable, sql } from "kysely";
import type { Unit } from "../contract/units.js";
import { notFound, validationError } from "../errors.js";
import { iso } from "../internal/time.js";
import type { UnitsTable } from "../schema.js";
import { assertUuid, type TenantTransaction } from "../tenant-context.js";
import type { AlertChannel } from "./alert-channels.js";
import { alertChannels } from "./alert-channels.js";

/** A units row. */
export type UnitRow = Selectable<UnitsTable>;

/** Maps a units row to the API shape. */
export function toUnit(row: UnitRow): Unit {
  return {
    id: row.id,
    parentId: row.parent_id,
    name: row.name,
    slug: row.slug,
    depth: row.depth,
    path: row.path,
    alerts: alertChannels({ alerts: row.alerts }) as AlertChannel[],
    escalationSeconds: row.escalation_seconds,
    stateIntervalSeconds: row.state_interval_seconds,
    archivedAt: iso(row.archived_at),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** The tenant's root unit, inside its transaction. Every tenant has one (created with the tenant). */
export async function rootUnitIn(trx: TenantTransaction): Promise<UnitRow> {
  const row = await trx.selectFrom("units").selectAll().where("parent_id", "is", null).executeTakeFirst();
  if (!row) throw notFound("root unit");
  return row;
}

/** One unit of the tenant, inside its transaction; `not_found` for unknown ids and other tenants' ids. */
export async function unitIn(trx: TenantTransaction, id: string, options: { forUpdate?: boolean } = {}) {
  const unitId = assertUuid(id, "unitId");
  let q = trx.selectFrom("units").selectAll().where("id", "=", unitId);
  if (options.forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  if (!row) throw notFound("unit", unitId);
  return row;
}

/**
 * The unit a write names, or the root unit when it names none. A unit named in a request body that does
 * not exist (or belongs to another tenant) is a `validation_failed` on `field`, not a 404 of the route.
 */
export async function targetUnitIn(
  trx: TenantTransaction,
  unitId: string | null | undefined,
  field = "unitId",
): Promise<UnitRow> {
  if (unitId === undefined || unitId === null) return rootUnitIn(trx);
  const row = await trx
    .selectFrom("units")
    .selectAll()
    .where("id", "=", assertUuid(unitId, field))
    .executeTakeFirst();
  if (!row) throw validationError(`${field}: no such unit`, [{ path: field, message: "no such unit" }]);
  if (row.archived_at !== null) {
    throw validationError(`${field}: the unit is archived`, [{ path: field, message: "unit is archived" }]);
  }
  return row;
}

/** The ids of a unit and every unit below it. */
export async function subtreeIdsIn(trx: TenantTransaction, unitId: string): Promise<string[]> {
  const rows = await trx
    .selectFrom("units")
    .select("id")
    .where(sql<boolean>`path @> array[${unitId}]::uuid[]`)
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Units in depth-first order, a parent before its children and siblings by slug (the order every list
 * of units uses).
 */
export function depthFirst<T extends { id: string; parent_id: string | null; slug: string }>(rows: T[]): T[] {
  const children = new Map<string | null, T[]>();
  const ids = new Set(rows.map((r) => r.id));
  for (const row of rows) {
    // A unit whose parent is not in the set (a subtree's top) is a starting point.
    const key = row.parent_id !== null && ids.has(row.parent_id) ? row.parent_id : null;
    const list = children.get(key) ?? [];
    list.push(row);
    children.set(key, list);
  }
  for (const list of children.values()) list.sort((a, b) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0));
  const out: T[] = [];
  const visit = (parent: string | null) => {
    for (const row of children.get(parent) ?? []) {
      out.push(row);
      visit(row.id);
    }
  };
  visit(null);
  return out;
}
