/**
 * The result of S4's analysis of one episode, as stored in `episodes.analysis` and carried by the
 * `episode.analyzed` event. Every analyzer (the built-in heuristic one, an LLM behind an
 * OpenAI-compatible API, a host app's own) produces exactly this shape, so policies can rely on it.
 *
 * This module is part of `contract/`: it must not import Node built-ins, the browser client uses it.
 */
import { z } from "zod";

/**
 * The five systems of the Viable System Model, in order: 1 operations, 2 coordination, 3 control,
 * 4 intelligence, 5 policy.
 *
 * @example
 * ```ts
 * for (const system of vsmSystems) console.log(`S${system}`);
 * ```
 */
export const vsmSystems = [1, 2, 3, 4, 5] as const;

/**
 * Risk levels, from least to most severe. The index is the severity, so levels compare by position.
 *
 * @example
 * ```ts
 * const atLeastHigh = riskLevels.indexOf(analysis.risk.level) >= riskLevels.indexOf("high");
 * ```
 */
export const riskLevels = ["low", "medium", "high", "critical"] as const;

/**
 * The kinds of entity an analysis reports: named people and organisations, and the literal
 * `@mention`s, `#hashtag`s, URLs and email addresses found in the text.
 */
export const analysisEntityKinds = ["person", "organization", "mention", "hashtag", "url", "email"] as const;

/** Sentiment labels, from worst to best. */
export const sentimentLabels = ["negative", "neutral", "positive"] as const;

/** A risk level, e.g. `"high"`. */
export type RiskLevel = (typeof riskLevels)[number];

/** A sentiment label, e.g. `"neutral"`. */
export type SentimentLabel = (typeof sentimentLabels)[number];

/** The kind of an analysis entity, e.g. `"organization"`. */
export type AnalysisEntityKind = (typeof analysisEntityKinds)[number];

/**
 * One entity found in an episode, with how many times it is mentioned.
 *
 * @example
 * ```ts
 * analysisEntitySchema.parse({ text: "Acme Corp", kind: "organization", count: 3 });
 * ```
 */
export const analysisEntitySchema = z.object({
  text: z.string().min(1).max(500),
  kind: z.enum(analysisEntityKinds),
  count: z.number().int().min(1),
});

/** One entity found in an episode. */
export type AnalysisEntity = z.infer<typeof analysisEntitySchema>;

/**
 * The overall sentiment: `score` from -1 (very negative) to 1 (very positive), its `label`, and how
 * confident the analyzer is in that label (0..1).
 *
 * @example
 * ```ts
 * analysisSentimentSchema.parse({ score: -0.62, label: "negative", confidence: 0.8 });
 * ```
 */
export const analysisSentimentSchema = z.object({
  score: z.number().min(-1).max(1),
  label: z.enum(sentimentLabels),
  confidence: z.number().min(0).max(1),
});

/** The overall sentiment of an episode. */
export type AnalysisSentiment = z.infer<typeof analysisSentimentSchema>;

/**
 * The risk an episode signals and the reasons that raised it (empty when the level is `low` for
 * want of any signal).
 *
 * @example
 * ```ts
 * analysisRiskSchema.parse({ level: "critical", reasons: ['data loss: "data loss"'] });
 * ```
 */
export const analysisRiskSchema = z.object({
  level: z.enum(riskLevels),
  reasons: z.array(z.string().min(1).max(500)).max(50),
});

/** The risk an episode signals. */
export type AnalysisRisk = z.infer<typeof analysisRiskSchema>;

/**
 * The complete analysis of one episode. `systems` lists the VSM systems the text concerns, ascending and
 * without duplicates; `analyzer` names the implementation (and its version or model) that produced it;
 * `language` is a BCP 47 tag such as `"en"` when the analyzer could tell.
 *
 * @example
 * ```ts
 * const result = episodeAnalysisSchema.safeParse(JSON.parse(body));
 * if (!result.success) throw new Error(z.prettifyError(result.error));
 * if (result.data.risk.level === "critical") page();
 * ```
 */
export const episodeAnalysisSchema = z.object({
  summary: z.string().max(10_000),
  keywords: z.array(z.string().min(1).max(200)).max(100),
  topics: z.array(z.string().min(1).max(200)).max(50),
  entities: z.array(analysisEntitySchema).max(500),
  sentiment: analysisSentimentSchema,
  systems: z
    .array(z.literal(vsmSystems))
    .max(vsmSystems.length)
    .refine((systems) => systems.every((system, i) => i === 0 || system > systems[i - 1]!), {
      message: "systems must be ascending without duplicates",
    }),
  risk: analysisRiskSchema,
  analyzer: z.object({ name: z.string().min(1).max(200), version: z.string().min(1).max(200) }),
  language: z.string().min(2).max(35).optional(),
});

/**
 * The analysis of one episode (see `episodeAnalysisSchema`).
 *
 * @example
 * ```ts
 * const analysis: EpisodeAnalysis = await analyzer.analyze({ title, content });
 * ```
 */
export type EpisodeAnalysis = z.infer<typeof episodeAnalysisSchema>;
