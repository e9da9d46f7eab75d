/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for checking `/metrics` when
 * `promtool` is not installed (and alongside it when it is). It enforces the format's rules and the
 * lint rules `promtool check metrics` applies to names: one HELP and one TYPE per family before its
 * samples; sample names belong to their family (`_bucket`/`_sum`/`_count` for histograms); counters end
 * in `_total` and nothing else does; label names and values are well-formed; values are numbers;
 * histogram buckets are cumulative and end with `le="+Inf"` equal to `_count`.
 */

export interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(text: string, line: number): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new Error(`line ${line}: bad value ${text}`);
  return Number(text);
}

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`line ${line}: bad labels ${text}`);
    const name = text.slice(i, eq).trim();
    if (!LABEL_NAME.test(name) || name.startsWith("__"))
      throw new Error(`line ${line}: bad label name ${name}`);
    if (text[eq + 1] !== '"') throw new Error(`line ${line}: label value must be quoted`);
    let j = eq + 2;
    let value = "";
    while (j < text.length && text[j] !== '"') {
      if (text[j] === "\\") {
        const next = text[j + 1];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`line ${line}: bad escape \\${next}`);
        j += 2;
      } else value += text[j++];
    }
    if (text[j] !== '"') throw new Error(`line ${line}: unterminated label value`);
    if (name in labels) throw new Error(`line ${line}: duplicate label ${name}`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
  }
  return labels;
}

export function parseExposition(text: string): Family[] {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  const lines = text.split("\n");
  if (lines.at(-1) !== "") throw new Error("the exposition must end with a newline");
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw === "") return;
    if (raw.startsWith("# HELP ")) {
      const [, , name, ...rest] = raw.split(" ");
      if (!name || !NAME.test(name)) throw new Error(`line ${line}: bad metric name in HELP`);
      if (families.has(name)) throw new Error(`line ${line}: second HELP for ${name}`);
      current = { name, help: rest.join(" "), type: "untyped", samples: [] };
      if (!current.help) throw new Error(`line ${line}: empty HELP for ${name}`);
      families.set(name, current);
      return;
    }
    if (raw.startsWith("# TYPE ")) {
      const [, , name, type] = raw.split(" ");
      if (!current || current.name !== name)
        throw new Error(`line ${line}: TYPE for ${name} not after its HELP`);
      if (!type || !TYPES.has(type)) throw new Error(`line ${line}: unknown type ${type}`);
      if (current.samples.length > 0) throw new Error(`line ${line}: TYPE after samples`);
      current.type = type as Family["type"];
      return;
    }
    if (raw.startsWith("#")) return;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(raw);
    if (!match) throw new Error(`line ${line}: not a sample: ${raw}`);
    const [, name = "", labelText = "", valueText = ""] = match;
    if (!current) throw new Error(`line ${line}: sample before any HELP`);
    const suffixes =
      current.type === "histogram"
        ? ["_bucket", "_sum", "_count"]
        : current.type === "summary"
          ? ["", "_sum", "_count"]
          : [""];
    if (!suffixes.some((s) => name === `${current?.name}${s}`)) {
      throw new Error(`line ${line}: sample ${name} does not belong to family ${current.name}`);
    }
    current.samples.push({ name, labels: parseLabels(labelText, line), value: parseValue(valueText, line) });
  });
  for (const family of families.values()) {
    if (family.type === "counter" && !family.name.endsWith("_total"))
      throw new Error(`counter ${family.name} must end in _total`);
    if (family.type !== "counter" && family.name.endsWith("_total"))
      throw new Error(`${family.type} ${family.name} must not end in _total`);
    if (family.type === "histogram") checkHistogram(family);
  }
  return [...families.values()];
}

function checkHistogram(family: Family): void {
  const series = new Map<string, { le: number; value: number }[]>();
  const counts = new Map<string, number>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    if (s.name.endsWith("_bucket")) {
      if (le === undefined) throw new Error(`${family.name}: bucket without le`);
      series.set(key, [...(series.get(key) ?? []), { le: parseValue(le, 0), value: s.value }]);
    } else if (s.name.endsWith("_count")) counts.set(key, s.value);
  }
  for (const [key, buckets] of series) {
    for (let i = 1; i < buckets.length; i++) {
      const previous = buckets[i - 1] as { le: number; value: number };
      const bucket = buckets[i] as { le: number; value: number };
      if (bucket.le <= previous.le || bucket.value < previous.value)
        throw new Error(`${family.name}: buckets not cumulative`);
    }
    const last = buckets.at(-1);
    if (!last || last.le !== Number.POSITIVE_INFINITY) throw new Error(`${family.name}: no +Inf bucket`);
    if (counts.get(key) !== last.value) throw new Error(`${family.name}: +Inf bucket differs from _count`);
  }
}
