import { z } from "zod";
import { cursorSchema, listSchemaOf, timestampSchema } from "./common.js";

const positive = z.number().positive().finite();

/** Overrides of the change detector's parameters (see `DEFAULT_DETECTOR`); each optional. */
export const detectorParametersSchema = z
  .object({
    alpha: z.number().gt(0).max(1).optional().describe("Smoothing of the forecast (default 0.3)."),
    beta: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe("Smoothing of the forecast errors' variance (default 0.05)."),
    k: z
      .number()
      .min(1)
      .max(10)
      .optional()
      .describe("Half-width of the band in standard deviations (default 3)."),
    confirmations: z
      .number()
      .int()
      .min(1)
      .max(10)
      .optional()
      .describe("Consecutive readings outside the band that confirm a change (default 2)."),
    warmup: z
      .number()
      .int()
      .min(2)
      .max(100)
      .optional()
      .describe("Readings that set the baseline (default 10)."),
    minSigmaFraction: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe("σ is at least this fraction of the level (default 0.01)."),
  })
  .strict()
  .meta({ id: "DetectorParameters" });

const targets = (value: { capability?: number; potentiality?: number }) =>
  value.capability === undefined ||
  value.potentiality === undefined ||
  value.capability <= value.potentiality;
const targetsIssue = { message: "capability must not exceed potentiality", path: ["capability"] };

/** Body of `POST /v1/units/:id/indicators`. */
export const createIndicatorSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    unitOfMeasure: z.string().trim().max(50).default(""),
    capability: positive.describe(
      "What the unit could achieve now, with its existing resources and constraints.",
    ),
    potentiality: positive.describe(
      "What it ought to achieve if it developed its resources and removed constraints.",
    ),
    detector: detectorParametersSchema.default({}),
  })
  .strict()
  .refine(targets, targetsIssue);
/** Input of `indicators.create`. */
export type CreateIndicatorInput = z.input<typeof createIndicatorSchema>;

/**
 * Body of `PATCH /v1/units/:id/indicators/:indicatorId`: rename it, or give it new targets effective from a
 * moment (default now); readings keep the targets in effect at their own time.
 */
export const updateIndicatorSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    unitOfMeasure: z.string().trim().max(50).optional(),
    capability: positive.optional(),
    potentiality: positive.optional(),
    effectiveFrom: timestampSchema.optional().describe("When the new targets take effect; default now."),
  })
  .strict()
  .refine((v) => (v.capability === undefined) === (v.potentiality === undefined), {
    message: "give capability and potentiality together",
    path: ["potentiality"],
  })
  .refine(targets, targetsIssue)
  .refine((v) => v.effectiveFrom === undefined || v.capability !== undefined, {
    message: "effectiveFrom goes with new capability and potentiality",
    path: ["effectiveFrom"],
  })
  .refine((v) => Object.values(v).some((x) => x !== undefined), { message: "give at least one field" });
/** Input of `indicators.update`. */
export type UpdateIndicatorInput = z.input<typeof updateIndicatorSchema>;

/** The most readings one request may record. */
export const MAX_READINGS_PER_BATCH = 1_000;

/** Body of `POST .../readings`: readings of actuality, idempotent by timestamp. */
export const recordReadingsSchema = z
  .object({
    readings: z
      .array(
        z
          .object({
            at: timestampSchema.refine((v) => Date.parse(v) >= 0, { message: "must be 1970 or later" }),
            actuality: z.number().min(0).finite(),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_READINGS_PER_BATCH),
  })
  .strict();
/** Input of `indicators.record`. */
export type RecordReadingsInput = z.input<typeof recordReadingsSchema>;

/** Query of `GET .../readings`: the series in time order, for plotting. */
export const listReadingsSchema = z
  .object({
    from: timestampSchema.optional(),
    to: timestampSchema.optional(),
    limit: z.coerce.number().int().min(1).max(1_000).default(500),
    cursor: cursorSchema.optional(),
  })
  .strict();
/** Input of `indicators.readings`. */
export type ListReadingsInput = z.input<typeof listReadingsSchema>;

/** What the change detector said about a reading. */
export const readingStatuses = ["warmup", "in_band", "outlier", "change"] as const;

/** One reading: actuality, the targets in effect then, the triple index, and the detector's view. */
export const readingSchema = z
  .object({
    at: timestampSchema,
    actuality: z.number(),
    capability: z.number(),
    potentiality: z.number(),
    productivity: z.number().describe("actuality / capability"),
    latency: z.number().describe("capability / potentiality"),
    performance: z.number().describe("actuality / potentiality (= productivity × latency)"),
    smoothed: z
      .object({ actuality: z.number(), productivity: z.number(), performance: z.number() })
      .describe("The detector's smoothed level of actuality after this reading, and its indices."),
    forecast: z.number().nullable().describe("What the detector expected (null during the warm-up)."),
    lower: z.number().nullable(),
    upper: z.number().nullable(),
    status: z.enum(readingStatuses),
    direction: z.enum(["up", "down"]).nullable(),
  })
  .meta({ id: "Reading" });
/** One reading. */
export type Reading = z.infer<typeof readingSchema>;

/** An indicator: what a unit measures, its current targets, and its latest reading. */
export const indicatorSchema = z
  .object({
    id: z.uuid(),
    unitId: z.uuid(),
    name: z.string(),
    unitOfMeasure: z.string(),
    capability: z.number().describe("Current capability (the latest targets)."),
    potentiality: z.number().describe("Current potentiality."),
    targets: z
      .array(z.object({ effectiveFrom: timestampSchema, capability: z.number(), potentiality: z.number() }))
      .describe("Every set of targets, oldest first."),
    detector: z.object({
      alpha: z.number(),
      beta: z.number(),
      k: z.number(),
      confirmations: z.number().int(),
      warmup: z.number().int(),
      minSigmaFraction: z.number(),
    }),
    latest: readingSchema.nullable(),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: "Indicator" });
/** An indicator. */
export type Indicator = z.infer<typeof indicatorSchema>;

/** A unit's indicators. */
export const indicatorListSchema = listSchemaOf(indicatorSchema, "IndicatorList");

/** Answer of `POST .../readings`. */
export const recordedReadingsSchema = z
  .object({
    recorded: z.array(readingSchema).describe("The new readings, in time order."),
    duplicates: z
      .number()
      .int()
      .describe("Readings already recorded with the same time and value (skipped)."),
    changes: z.number().int().describe("Significant changes detected among the new readings."),
  })
  .meta({ id: "RecordedReadings" });
/** Answer of `POST .../readings`. */
export type RecordedReadings = z.infer<typeof recordedReadingsSchema>;

/** A page of readings, oldest first. */
export const readingPageSchema = z
  .object({
    items: z.array(readingSchema),
    nextCursor: z
      .string()
      .optional()
      .describe("Pass as ?cursor= for the next page; absent on the last page."),
  })
  .meta({ id: "ReadingPage" });
