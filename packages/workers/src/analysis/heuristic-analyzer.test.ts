import { readFileSync } from "node:fs";
import { type EpisodeAnalysis, episodeAnalysisSchema } from "@cybernetic/core/contract";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type AnalyzerInput, createHeuristicAnalyzer, HEURISTIC_ANALYZER_VERSION } from "./index.js";

const analyzer = createHeuristicAnalyzer();

function fixture(name: string): AnalyzerInput {
  const url = new URL(`../../test/fixtures/episodes/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as AnalyzerInput;
}

async function analyze(input: AnalyzerInput): Promise<EpisodeAnalysis> {
  const result = await analyzer.analyze(input);
  // Every result must satisfy the contract the rest of the platform relies on.
  expect(episodeAnalysisSchema.parse(result)).toEqual(result);
  return result;
}

function entity(result: EpisodeAnalysis, text: string) {
  return result.entities.find((e) => e.text === text);
}

function expectExtractiveSummary(result: EpisodeAnalysis, input: AnalyzerInput, maxSentences = 3) {
  expect(result.summary.length).toBeGreaterThan(0);
  expect(result.summary.length).toBeLessThanOrEqual(600);
  const content = input.content.replace(/\s+/g, " ");
  const sentences = result.summary.split(/(?<=[.!?])\s+(?=\p{Lu})/u);
  expect(sentences.length).toBeLessThanOrEqual(maxSentences);
  for (const sentence of sentences) expect(content).toContain(sentence);
}

describe("heuristic analyzer: golden corpus", () => {
  it("reads an outage incident report as S1, negative, high risk, without the negated data loss", async () => {
    const input = fixture("outage-incident");
    const result = await analyze(input);

    expect(result.systems).toEqual([1]);
    expect(result.sentiment.label).toBe("negative");
    expect(result.risk.level).toBe("high");
    expect(result.risk.reasons[0]).toMatch(/^service outage: /);
    // "No customer data was lost" must not raise a data-loss reason.
    expect(result.risk.reasons.join("\n")).not.toMatch(/data loss/);
    expect(result.topics[0]).toBe("incident");
    expect(result.keywords).toEqual(expect.arrayContaining(["checkout", "outage", "certificate"]));

    expect(entity(result, "Priya Natarajan")).toEqual({ text: "Priya Natarajan", kind: "person", count: 2 });
    expect(entity(result, "Stripe")).toEqual({ text: "Stripe", kind: "organization", count: 1 });
    expect(entity(result, "@sre-team")).toEqual({ text: "@sre-team", kind: "mention", count: 1 });
    expect(entity(result, "incident-review@example.com")?.kind).toBe("email");
    expect(entity(result, "https://status.example.com/incidents/2024-031")?.kind).toBe("url");
    // Acronyms and regions are not organisations.
    expect(result.entities.map((e) => e.text)).not.toEqual(
      expect.arrayContaining(["EU", "TLS", "API", "UTC"]),
    );

    expectExtractiveSummary(result, input);
    expect(result.summary.startsWith("Yesterday at 14:05 UTC the payment service")).toBe(true);
    expect(result.language).toBe("en");
    expect(result.analyzer).toEqual({ name: "heuristic", version: HEURISTIC_ANALYZER_VERSION });
  });

  it("reads a customer complaint as S1, negative, high risk for the churn threat", async () => {
    const input = fixture("customer-complaint");
    const result = await analyze(input);

    expect(result.systems).toEqual([1]);
    expect(result.sentiment.label).toBe("negative");
    expect(result.sentiment.score).toBeLessThan(-0.5);
    expect(result.risk.level).toBe("high");
    expect(result.risk.reasons[0]).toBe('customer churn: "cancel our contract"');
    expect(result.risk.reasons).toContain(`negative sentiment (score ${result.sentiment.score})`);
    expect(result.topics).toEqual(expect.arrayContaining(["customer", "operations"]));

    // The greeting and the signature both name the sender; "Ltd" is the same company.
    expect(entity(result, "Tom Becker")).toEqual({ text: "Tom Becker", kind: "person", count: 2 });
    expect(entity(result, "Northwind Logistics")).toEqual({
      text: "Northwind Logistics",
      kind: "organization",
      count: 2,
    });
    expect(entity(result, "tom.becker@northwind-logistics.example")?.kind).toBe("email");

    expectExtractiveSummary(result, input);
    expect(result.summary).not.toMatch(/^Hi,/);
    expect(result.summary).toContain("cancel our contract");
  });

  it("reads praise as positive and low risk, with the mention, hashtag, person and company", async () => {
    const input = fixture("customer-praise");
    const result = await analyze(input);

    expect(result.systems).toContain(1);
    expect(result.sentiment.label).toBe("positive");
    expect(result.sentiment.score).toBeGreaterThan(0.5);
    expect(result.sentiment.confidence).toBeGreaterThan(0.8);
    expect(result.risk).toEqual({ level: "low", reasons: [] });

    expect(entity(result, "@lumenbakery")).toEqual({ text: "@lumenbakery", kind: "mention", count: 1 });
    expect(entity(result, "#happycustomer")).toEqual({ text: "#happycustomer", kind: "hashtag", count: 1 });
    expect(entity(result, "Aisha")).toEqual({ text: "Aisha", kind: "person", count: 1 });
    expect(entity(result, "Lumen Bakery")?.kind).toBe("organization");

    expectExtractiveSummary(result, input);
    // The signature line is not the gist.
    expect(result.summary).not.toContain("Clara");
  });

  it("reads a budget decision as S3 with a cost-overrun risk", async () => {
    const input = fixture("budget-decision");
    const result = await analyze(input);

    expect(result.systems).toEqual([3]);
    expect(result.sentiment.label).toBe("neutral");
    expect(result.risk.level).toBe("medium");
    expect(result.risk.reasons).toEqual(['cost overrun: "over budget"']);
    expect(result.topics[0]).toBe("finance");
    expect(result.keywords[0]).toBe("budget");
    expect(entity(result, "Daniel Okafor")).toEqual({ text: "Daniel Okafor", kind: "person", count: 1 });
    // Currencies and quarter names are not entities.
    expect(result.entities.map((e) => e.text)).toEqual(["Daniel Okafor"]);
    expectExtractiveSummary(result, input);
  });

  it("reads competitor news as S4 with a competitive-threat risk", async () => {
    const input = fixture("competitor-news");
    const result = await analyze(input);

    expect(result.systems).toEqual([4]);
    expect(result.risk.level).toBe("medium");
    expect(result.risk.reasons[0]).toMatch(/^competitive threat: /);
    expect(result.topics[0]).toBe("market");
    expect(entity(result, "Vantage Freight")?.kind).toBe("organization");
    expect(entity(result, "Harbor Research Group")?.kind).toBe("organization");
    expect(result.entities.filter((e) => e.kind === "url").map((e) => e.text)).toEqual([
      "https://news.example.com/vantage-same-day",
      "https://harbor-research.example/notes/q2-logistics",
    ]);
    expect(result.entities.map((e) => e.text)).not.toContain("European");
    expectExtractiveSummary(result, input);
  });

  it("reads a coordination problem as S2", async () => {
    const result = await analyze(fixture("coordination-conflict"));
    expect(result.systems).toEqual([2]);
    expect(entity(result, "Marco Rossi")?.kind).toBe("person");
    expect(entity(result, "Jenny Walsh")?.kind).toBe("person");
  });

  it("reads a strategy offsite as S5, low risk", async () => {
    const result = await analyze(fixture("strategy-offsite"));
    expect(result.systems).toEqual([5]);
    expect(result.risk).toEqual({ level: "low", reasons: [] });
    expect(result.topics[0]).toBe("strategy");
    expect(entity(result, "Elena Varga")).toEqual({ text: "Elena Varga", kind: "person", count: 1 });
  });

  it("reads a security breach as critical", async () => {
    const result = await analyze(fixture("security-breach"));
    expect(result.risk.level).toBe("critical");
    expect(result.risk.reasons[0]).toBe('security breach: "Security incident"');
    expect(result.topics[0]).toBe("security");
    expect(result.sentiment.label).toBe("negative");
  });
});

describe("heuristic analyzer: sentiment", () => {
  const label = async (content: string) => (await analyze({ title: "", content })).sentiment;

  it("flips and damps negated terms", async () => {
    expect((await label("The new dashboard is good.")).label).toBe("positive");
    expect((await label("The new dashboard is not good.")).label).toBe("negative");
    expect((await label("Honestly, the onboarding was not bad at all.")).label).toBe("positive");
    expect((await label("The export button still doesn't work.")).label).toBe("negative");
    expect((await label("Support never responded to my ticket.")).label).toBe("negative");
  });

  it("weighs intensifiers and what follows a contrast", async () => {
    const plain = await label("The report was good.");
    const strong = await label("The report was very good.");
    expect(strong.score).toBeGreaterThan(plain.score);
    expect((await label("The food was good, but the service was terrible and slow.")).label).toBe("negative");
  });

  it("is neutral with low confidence for factual text, and zero confidence for nothing", async () => {
    const factual = await label("The warehouse opens at 8 and the trucks leave at 10.");
    expect(factual.label).toBe("neutral");
    expect(factual.score).toBe(0);
    expect(factual.confidence).toBeGreaterThan(0);
    expect(factual.confidence).toBeLessThanOrEqual(0.6);
    expect(await label("")).toEqual({ score: 0, label: "neutral", confidence: 0 });
  });
});

describe("heuristic analyzer: risk", () => {
  it("ignores negated risk phrases", async () => {
    const result = await analyze({
      title: "Failover drill",
      content:
        "The failover drill went fine. No data was lost and there was no outage. We avoided any downtime.",
    });
    expect(result.risk.reasons.join("\n")).not.toMatch(/data loss|service outage/);
    expect(["low", "medium"]).toContain(result.risk.level);
  });

  it("raises data loss to critical and reports reasons most severe first", async () => {
    const result = await analyze({
      title: "Storage failure",
      content: "Deliveries are delayed. A disk failure caused data loss for 12 customers.",
    });
    expect(result.risk.level).toBe("critical");
    expect(result.risk.reasons[0]).toBe('data loss: "data loss"');
    expect(result.risk.reasons).toContain('delay: "delayed"');
  });

  it("counts tags", async () => {
    const result = await analyze({
      title: "Update",
      content: "See the channel for details.",
      tags: ["sev-1"],
    });
    expect(result.risk.level).toBe("critical");
    expect(result.risk.reasons).toEqual(['complete outage: "sev 1"']);
  });
});

describe("heuristic analyzer: entities", () => {
  it("handles sentence-initial words, organisation suffixes and aliases", async () => {
    const result = await analyze({
      title: "Supplier update",
      content:
        "Yesterday Acme Corp shipped 40 orders to Müller GmbH. Acme said the rest will follow. " +
        "Our contact at Initech, Inc. confirmed the invoice. Dr. Jane Smith approved it; Smith thanked the team. " +
        "Unfortunately the printer broke again.",
    });
    expect(entity(result, "Acme Corp")).toEqual({ text: "Acme Corp", kind: "organization", count: 2 });
    expect(entity(result, "Müller GmbH")).toEqual({ text: "Müller GmbH", kind: "organization", count: 1 });
    expect(entity(result, "Initech, Inc")).toEqual({ text: "Initech, Inc", kind: "organization", count: 1 });
    expect(entity(result, "Jane Smith")).toEqual({ text: "Jane Smith", kind: "person", count: 2 });
    const texts = result.entities.map((e) => e.text);
    expect(texts).not.toEqual(expect.arrayContaining(["Yesterday", "Unfortunately", "Our", "Dr"]));
  });

  it("counts mentions and hashtags case-insensitively and keeps them apart from emails and URLs", async () => {
    const result = await analyze({
      title: "Ping @dana",
      content:
        "@dana can you check the #Outage dashboard? @Dana, @lee: mail ops@example.com or read " +
        "https://docs.example.com/runbook#restart (step #3). #outage #outage C# is not a tag.",
    });
    expect(entity(result, "@dana")).toEqual({ text: "@dana", kind: "mention", count: 3 });
    expect(entity(result, "@lee")).toEqual({ text: "@lee", kind: "mention", count: 1 });
    expect(entity(result, "#Outage")).toEqual({ text: "#Outage", kind: "hashtag", count: 3 });
    expect(entity(result, "ops@example.com")).toEqual({ text: "ops@example.com", kind: "email", count: 1 });
    expect(entity(result, "https://docs.example.com/runbook#restart")?.kind).toBe("url");
    const texts = result.entities.map((e) => e.text);
    expect(texts).not.toEqual(expect.arrayContaining(["@example", "#restart", "#3", "#"]));
    // Most mentioned first.
    expect(result.entities[0]).toEqual({ text: "@dana", kind: "mention", count: 3 });
  });
});

describe("heuristic analyzer: determinism and bounds", () => {
  it("gives the same output for the same input, across instances", async () => {
    for (const name of ["outage-incident", "customer-complaint", "competitor-news"]) {
      const input = fixture(name);
      const first = await analyzer.analyze(input);
      const second = await createHeuristicAnalyzer().analyze(structuredClone(input));
      expect(JSON.stringify(second)).toBe(JSON.stringify(first));
    }
  });

  it("is deterministic, schema-valid and never throws for arbitrary unicode input", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: "binary", maxLength: 300 }),
        fc.string({ unit: "grapheme", maxLength: 2000 }),
        fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 }),
        async (title, content, tags) => {
          const a = await analyzer.analyze({ title, content, tags });
          const b = await analyzer.analyze({ title, content, tags });
          expect(episodeAnalysisSchema.safeParse(a).success).toBe(true);
          expect(b).toEqual(a);
          expect(a.summary.length).toBeLessThanOrEqual(600);
        },
      ),
      { numRuns: 150, seed: 42 },
    );
  });

  it("handles empty input", async () => {
    const result = await analyze({ title: "", content: "" });
    expect(result).toEqual({
      summary: "",
      keywords: [],
      topics: [],
      entities: [],
      sentiment: { score: 0, label: "neutral", confidence: 0 },
      systems: [],
      risk: { level: "low", reasons: [] },
      analyzer: { name: "heuristic", version: HEURISTIC_ANALYZER_VERSION },
    });
  });

  it("falls back to the title when there is no content", async () => {
    const result = await analyze({ title: "  Warehouse   inventory count  ", content: "   \n " });
    expect(result.summary).toBe("Warehouse inventory count");
    expect(result.systems).toEqual([1]);
    expect(result.keywords).toEqual(["warehouse", "inventory", "count"]);
  });

  it("handles emoji-only input", async () => {
    const happy = await analyze({ title: "", content: "🎉🎉👍" });
    expect(happy.sentiment.label).toBe("positive");
    expect(happy.keywords).toEqual([]);
    expect(happy.entities).toEqual([]);
    expect(happy.summary).toBe("🎉🎉👍");
    const flags = await analyze({ title: "", content: "🌍🌍 🌍" });
    expect(flags.sentiment.label).toBe("neutral");
    expect(flags.risk.level).toBe("low");
  });

  it("analyses non-Latin scripts without throwing", async () => {
    const japanese = await analyze({
      title: "出荷",
      content: "東京の倉庫で出荷が遅れています。明日までに対応します。",
    });
    expect(japanese.summary).toBe("東京の倉庫で出荷が遅れています。 明日までに対応します。");
    const german = await analyze({
      title: "Lieferung",
      content:
        "Die Lieferung ist nicht pünktlich angekommen und der Kunde ist mit dem Service nicht zufrieden.",
    });
    expect(german.language).toBe("de");
  });

  it("reads only the first 100k characters of a 1 MB input", async () => {
    const sentence = "Acme Corp reported another outage at the depot. ";
    const content = sentence.repeat(Math.ceil(1_048_576 / sentence.length));
    expect(content.length).toBeGreaterThan(1_000_000);
    const result = await analyze({ title: "Load test", content });
    const acme = entity(result, "Acme Corp");
    expect(acme?.kind).toBe("organization");
    // Every sentence mentions Acme Corp once; only those in the first 100 000 characters count.
    expect(acme?.count).toBe(Math.ceil(100_000 / sentence.length));
    expect(result.summary.length).toBeLessThanOrEqual(600);
    expect(result.risk.level).toBe("high");
  });

  it("survives a 1 MB word and a 1 MB run of punctuation", async () => {
    const word = await analyze({ title: "x", content: "a".repeat(1_048_576) });
    expect(word.summary.length).toBeLessThanOrEqual(600);
    expect(word.summary.endsWith("…")).toBe(true);
    const dots = await analyze({ title: "Dots", content: ". ".repeat(524_288) });
    expect(dots.keywords).toEqual(["dots"]);
    const ats = await analyze({ title: "x", content: "@".repeat(1_048_576) });
    expect(ats.entities).toEqual([]);
  });

  it("never cuts a surrogate pair when bounding", async () => {
    const bounded = createHeuristicAnalyzer({ maxChars: 5, maxSummaryChars: 20 });
    const result = await bounded.analyze({ title: "", content: "abcd😀 and more text that is cut" });
    expect(result.summary).toBe("abcd");
    const long = await bounded.analyze({ title: "", content: `${"😀".repeat(50)} end` });
    expect(long.summary).not.toMatch(
      /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u,
    );
  });

  it("keeps the summary within the configured bounds", async () => {
    const input = fixture("outage-incident");
    const short = await createHeuristicAnalyzer({ maxSummarySentences: 1, maxSummaryChars: 200 }).analyze(
      input,
    );
    expect(short.summary.length).toBeLessThanOrEqual(200);
    expect(input.content).toContain(short.summary);
    const tiny = await createHeuristicAnalyzer({ maxSummaryChars: 40 }).analyze(input);
    expect(tiny.summary.length).toBeLessThanOrEqual(40);
    expect(tiny.summary.endsWith("…")).toBe(true);
    const few = await createHeuristicAnalyzer({ maxKeywords: 2, maxEntities: 1, maxTopics: 1 }).analyze(
      input,
    );
    expect(few.keywords).toHaveLength(2);
    expect(few.entities).toEqual([{ text: "Priya Natarajan", kind: "person", count: 2 }]);
    expect(few.topics).toEqual(["incident"]);
  });

  it("rejects invalid options and honours an aborted signal", async () => {
    expect(() => createHeuristicAnalyzer({ maxChars: 0 })).toThrow(RangeError);
    expect(() => createHeuristicAnalyzer({ maxSummaryChars: 1.5 })).toThrow(/maxSummaryChars/);
    const controller = new AbortController();
    const reason = new Error("shutting down");
    controller.abort(reason);
    await expect(analyzer.analyze({ title: "t", content: "c" }, { signal: controller.signal })).rejects.toBe(
      reason,
    );
  });
});
