/**
 * The word lists behind the heuristic analyzer (`heuristic-analyzer.ts`).
 *
 * Why lists and not a model: the default analyzer must run anywhere (no network, no weights to
 * download), give the same answer for the same input, and be explainable — every risk reason names the
 * words that raised it. The price is English-centric recall; plug an LLM in through
 * `createOpenAICompatibleAnalyzer` when that matters.
 *
 * How the lists are read
 * - Terms are lowercase. A term ending in `*` matches any token starting with the rest (`deliver*`
 *   matches "delivery", "delivered"); a term with spaces is a phrase matched on consecutive tokens of one
 *   sentence (`data loss`), and each of its words may carry a `*` too (`cancel* contract*`).
 * - Tokens are words as the analyzer splits them: letters and digits, with inner `'`, `-` and `.` kept
 *   ("isn't", "us-east-1"), lowercased; emoji are tokens of their own.
 *
 * What each list does
 * - `STOPWORDS`: function words left out of keywords and of summary scoring.
 * - `SENTIMENT`: valence from -3 (very negative) to +3 (very positive), in the spirit of AFINN. A term
 *   preceded (within three tokens of its sentence) by a `NEGATORS` word flips and halves ("not good"
 *   counts -1); an `INTENSIFIERS` word right before it multiplies by 1.5, a `DAMPENERS` word by 0.5; in a
 *   sentence with `CONTRAST` ("good service, but slow") words before it count half and words after it
 *   one and a half. `NEGATED_SENTIMENT` words count only when negated ("doesn't work");
 *   `EMOJI_SENTIMENT` gives emoji a valence too.
 * - `VSM_LEXICON`: words that show which system of the Viable System Model a text concerns —
 *   S1 operations (the work itself: production, delivery, shipping, service, customers served, orders),
 *   S2 coordination (damping oscillation between units: schedules, conflicts, handoffs, syncs),
 *   S3 control (inside and now: budget, resources, audits, compliance, KPIs, costs),
 *   S4 intelligence (outside and then: market, competitors, trends, research, forecasts, regulation),
 *   S5 policy (identity: mission, values, strategy, governance, purpose).
 *   A system is reported when its hits reach 30% of the best-scoring system's (title and tag hits count
 *   double), so one stray word in a long text does not drag a system in.
 * - `TOPIC_LEXICON`: coarse topic labels ("incident", "security", "customer", …) by the same matching.
 * - `RISK_RULES`: phrases that raise the risk level, each with the reason reported. A match preceded
 *   within three tokens by a `RISK_NEGATORS` word ("no data loss", "prevented an outage") does not count.
 *   Outages, breaches and data loss are critical or high; churn and legal threats high; delays,
 *   complaints, cost overruns and competitive threats medium. Negative overall sentiment adds a medium
 *   reason of its own (in the analyzer, not here).
 * - `ORG_SUFFIXES`, `ORG_WORDS`, `PERSON_TITLES`, `NAME_PARTICLES`, `SPEECH_VERBS`, `ACTOR_VERBS`,
 *   `PERSON_CONTEXT`, `PLACE_PREPOSITIONS`, `NON_ENTITY_WORDS`, `SENTENCE_STARTERS`: cues for telling people
 *   from organisations in runs of capitalised words, and for ignoring capitalised words that are not
 *   names (weekdays, currencies, acronyms such as KPI, "Yesterday", places after "in").
 * - `ABBREVIATIONS`: words whose trailing period does not end a sentence.
 * - `LANGUAGE_HINTS`: very common words per language, used only to guess `language`.
 */
import type { RiskLevel } from "@cybernetic/core/contract";

/** English function words, excluded from keywords and summary scoring. */
export const STOPWORDS: ReadonlySet<string> = new Set(
  `a about above after again against all also am an and any are aren't as at be because been before being
  below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during
  each either etc few for from further get gets got had hadn't has hasn't have haven't having he he'd he'll
  he's her here here's hers herself him himself his how how's however i i'd i'll i'm i've if in into is isn't
  it it's its itself just let's like many may me might more most much must mustn't my myself no nor not now of
  off on once one only or other ought our ours ourselves out over own per please same shall shan't she she'd
  she'll she's should shouldn't since so some still such than that that's the their theirs them themselves
  then there there's these they they'd they'll they're they've this those though through thus to too under
  until up upon us very via was wasn't we we'd we'll we're we've were weren't what what's when when's where
  where's whether which while who who's whom whose why why's will with within without won't would wouldn't
  yet you you'd you'll you're you've your yours yourself yourselves also another any anyone anything around
  back been being else even ever every everyone everything here however instead less let lot lots made make
  makes making new next non onto quite rather really said say says see seen several shall since something
  take taken than thing things think two three four five six seven eight nine ten first second last well
  went were whatever whenever wherever will yes yesterday today tomorrow week weeks day days month months
  year years hour hours minute minutes time times am pm utc gmt cet cest pst pdt est edt eod eow eta fyi
  asap tbd hi hello hey dear thanks thank regards cheers okay ok`
    .split(/\s+/)
    .filter(Boolean),
);

/** Words that negate the sentiment (or the risk) of a following term. Any token ending in "n't" also does. */
export const NEGATORS: ReadonlySet<string> = new Set([
  "not",
  "no",
  "never",
  "none",
  "nobody",
  "nothing",
  "neither",
  "nor",
  "cannot",
  "without",
  "hardly",
  "barely",
  "lack",
  "lacks",
  "lacking",
]);

/** Words that multiply the next sentiment term by 1.5. */
export const INTENSIFIERS: ReadonlySet<string> = new Set([
  "very",
  "really",
  "extremely",
  "incredibly",
  "totally",
  "completely",
  "absolutely",
  "highly",
  "so",
  "truly",
  "deeply",
  "seriously",
  "utterly",
  "super",
  "especially",
  "particularly",
]);

/** Words that halve the next sentiment term. */
export const DAMPENERS: ReadonlySet<string> = new Set([
  "slightly",
  "somewhat",
  "mildly",
  "fairly",
  "partly",
  "partially",
  "marginally",
  "little",
]);

/** Words that shift the weight of a sentence to what follows them. */
export const CONTRAST: ReadonlySet<string> = new Set(["but", "however", "yet", "although", "though"]);

/** Valence of sentiment-bearing words, -3..3. */
export const SENTIMENT: Readonly<Record<string, number>> = {
  // strongly positive
  excellent: 3,
  outstanding: 3,
  amazing: 3,
  fantastic: 3,
  superb: 3,
  wonderful: 3,
  brilliant: 3,
  exceptional: 3,
  delighted: 3,
  thrilled: 3,
  love: 3,
  loved: 3,
  loves: 3,
  perfect: 3,
  awesome: 3,
  incredible: 3,
  // positive
  great: 2,
  good: 2,
  happy: 2,
  pleased: 2,
  glad: 2,
  impressive: 2,
  impressed: 2,
  success: 2,
  successful: 2,
  successfully: 2,
  thank: 2,
  thanks: 2,
  grateful: 2,
  appreciate: 2,
  appreciated: 2,
  helpful: 2,
  smooth: 2,
  smoothly: 2,
  reliable: 2,
  win: 2,
  won: 2,
  wins: 2,
  "exceed*": 2,
  recommend: 2,
  recommended: 2,
  enjoy: 2,
  enjoyed: 2,
  satisfied: 2,
  praise: 2,
  praised: 2,
  kudos: 2,
  "congrat*": 2,
  proud: 2,
  best: 2,
  positive: 2,
  promising: 2,
  friendly: 2,
  "improv*": 1,
  better: 1,
  fast: 1,
  faster: 1,
  quick: 1,
  quickly: 1,
  efficient: 1,
  growth: 1,
  grew: 1,
  resolved: 1,
  solved: 1,
  fixed: 1,
  stable: 1,
  strong: 1,
  benefit: 1,
  easy: 1,
  responsive: 1,
  restored: 1,
  recovered: 1,
  ahead: 1,
  // strongly negative
  terrible: -3,
  horrible: -3,
  awful: -3,
  disaster: -3,
  disastrous: -3,
  catastrophic: -3,
  furious: -3,
  outrageous: -3,
  unacceptable: -3,
  worst: -3,
  hate: -3,
  hated: -3,
  appalling: -3,
  abysmal: -3,
  disgusting: -3,
  useless: -3,
  breach: -3,
  breached: -3,
  // negative
  bad: -2,
  poor: -2,
  angry: -2,
  upset: -2,
  "disappoint*": -2,
  "frustrat*": -2,
  annoyed: -2,
  annoying: -2,
  fail: -2,
  failed: -2,
  failure: -2,
  failures: -2,
  failing: -2,
  fails: -2,
  broken: -2,
  "complain*": -2,
  outage: -2,
  outages: -2,
  downtime: -2,
  crash: -2,
  crashed: -2,
  crashes: -2,
  loss: -2,
  losses: -2,
  lost: -2,
  lose: -2,
  losing: -2,
  threat: -2,
  "threaten*": -2,
  worried: -2,
  worry: -2,
  unhappy: -2,
  regret: -2,
  churn: -2,
  confusing: -2,
  declining: -2,
  decline: -2,
  wrong: -2,
  degraded: -2,
  unstable: -2,
  unreliable: -2,
  lawsuit: -2,
  leak: -2,
  leaked: -2,
  vulnerable: -2,
  ridiculous: -2,
  waste: -2,
  wasted: -2,
  mess: -2,
  chaos: -2,
  chaotic: -2,
  pain: -2,
  painful: -2,
  damage: -2,
  damaged: -2,
  "overrun*": -2,
  // mildly negative
  problem: -1,
  problems: -1,
  issue: -1,
  issues: -1,
  slow: -1,
  slower: -1,
  delay: -1,
  delayed: -1,
  delays: -1,
  error: -1,
  errors: -1,
  bug: -1,
  bugs: -1,
  risk: -1,
  risky: -1,
  concern: -1,
  concerned: -1,
  concerns: -1,
  sorry: -1,
  "apolog*": -1,
  cancel: -1,
  cancelled: -1,
  canceled: -1,
  refund: -1,
  expensive: -1,
  confused: -1,
  difficult: -1,
  weak: -1,
  declined: -1,
  dropped: -1,
  missed: -1,
  stuck: -1,
  incident: -1,
  urgent: -1,
  behind: -1,
};

/**
 * Words with no valence of their own that turn negative when negated: "it doesn't work", "support
 * never responded".
 */
export const NEGATED_SENTIMENT: Readonly<Record<string, number>> = {
  work: -2,
  works: -2,
  working: -2,
  worked: -2,
  "respond*": -2,
  "load*": -1,
  "help*": -1,
  "arriv*": -1,
  "answer*": -1,
  reply: -1,
  replied: -1,
};

/** Valence of emoji, keyed by their first code point (so "❤️" and "❤" are the same). */
export const EMOJI_SENTIMENT: Readonly<Record<string, number>> = {
  "😀": 2,
  "😃": 2,
  "😄": 2,
  "😁": 2,
  "😊": 2,
  "🙂": 1,
  "😍": 3,
  "🥰": 3,
  "👍": 2,
  "👏": 2,
  "🎉": 2,
  "❤": 3,
  "💯": 2,
  "✅": 1,
  "🙌": 2,
  "🚀": 1,
  "😞": -2,
  "😟": -2,
  "🙁": -1,
  "☹": -2,
  "😠": -3,
  "😡": -3,
  "🤬": -3,
  "😢": -2,
  "😭": -2,
  "👎": -2,
  "💔": -2,
  "😤": -2,
  "😫": -2,
  "😩": -2,
  "🔥": 0,
};

/**
 * Words showing which VSM system a text concerns (see the module comment for what each system is).
 * Keys are the system numbers.
 */
export const VSM_LEXICON: Readonly<Record<1 | 2 | 3 | 4 | 5, readonly string[]>> = {
  1: [
    "production",
    "produce*",
    "manufactur*",
    "deliver*",
    "shipping",
    "ship",
    "shipped",
    "shipment*",
    "fulfil*",
    "fulfill*",
    "orders",
    "purchase order*",
    "service",
    "services",
    "served",
    "serving",
    "customer*",
    "client*",
    "users",
    "support ticket*",
    "tickets",
    "operations",
    "operational",
    "warehouse*",
    "inventory",
    "logistics",
    "dispatch*",
    "throughput",
    "uptime",
    "outage*",
    "downtime",
    "checkout",
    "payment*",
    "transactions",
    "sales",
    "deploy*",
    "on-call",
    "frontline",
    "stores",
    "workload*",
  ],
  2: [
    "schedul*",
    "conflict*",
    "handoff*",
    "hand-off*",
    "handover*",
    "sync",
    "syncs",
    "synced",
    "synchroni*",
    "coordinat*",
    "calendar*",
    "roster*",
    "rota",
    "rotation*",
    "dependenc*",
    "bottleneck*",
    "overlap*",
    "clash*",
    "double-book*",
    "double book*",
    "standup*",
    "stand-up*",
    "cross-team",
    "between teams",
    "across teams",
    "other team*",
    "communication*",
    "align",
    "aligned",
    "alignment",
    "protocol*",
    "oscillat*",
    "duplicate work",
    "duplicated effort",
    "turf",
  ],
  3: [
    "budget*",
    "resourc*",
    "audit*",
    "complian*",
    "kpi",
    "kpis",
    "metric*",
    "cost",
    "costs",
    "spend",
    "spending",
    "expense*",
    "headcount",
    "allocat*",
    "approv*",
    "quota*",
    "target*",
    "finance",
    "financial",
    "invoice*",
    "capex",
    "opex",
    "savings",
    "overrun*",
    "sla",
    "slas",
    "utilisation",
    "utilization",
    "productivity",
    "efficienc*",
    "accountab*",
    "postmortem*",
    "post-mortem*",
    "root cause",
    "control*",
    "oversight",
    "cfo",
    "reporting",
    "cut*",
    "procedure*",
    "enforc*",
    "gdpr",
    "permission*",
    "access control*",
  ],
  4: [
    "market",
    "markets",
    "market share",
    "competitor*",
    "competit*",
    "rival*",
    "trend*",
    "research*",
    "forecast*",
    "survey*",
    "innovat*",
    "launch*",
    "technolog*",
    "regulation*",
    "regulator*",
    "industry",
    "opportunit*",
    "scenario*",
    "prototype*",
    "experiment*",
    "benchmark*",
    "analyst*",
    "pricing",
    "emerging",
    "disrupt*",
    "environment",
    "intelligence",
    "insight*",
    "partnership*",
    "acqui*",
    "future",
    "outlook",
  ],
  5: [
    "mission",
    "vision",
    "values",
    "strateg*",
    "identity",
    "governance",
    "purpose",
    "ethic*",
    "principle*",
    "culture",
    "board",
    "charter",
    "long-term",
    "policy",
    "policies",
    "direction",
    "stakeholder*",
    "leadership",
    "manifesto",
    "constitution",
    "who we are",
  ],
};

/** Coarse topic labels and the words that signal them. */
export const TOPIC_LEXICON: Readonly<Record<string, readonly string[]>> = {
  incident: [
    "outage*",
    "incident*",
    "downtime",
    "degrad*",
    "failover",
    "rollback",
    "rolled back",
    "postmortem*",
    "post-mortem*",
    "root cause",
    "sev1",
    "sev2",
    "sev-1",
    "sev-2",
    "on-call",
    "crash*",
  ],
  security: [
    "breach*",
    "vulnerab*",
    "exploit*",
    "phishing",
    "malware",
    "ransomware",
    "credential*",
    "unauthori*",
    "security",
    "intrusion",
    "attacker*",
  ],
  customer: [
    "customer*",
    "client*",
    "complain*",
    "support ticket*",
    "refund*",
    "churn*",
    "feedback",
    "satisf*",
    "dissatisf*",
  ],
  finance: [
    "budget*",
    "cost",
    "costs",
    "revenue*",
    "spend",
    "spending",
    "invoice*",
    "profit*",
    "margin*",
    "expense*",
    "funding",
    "cash",
    "capex",
    "opex",
    "savings",
  ],
  market: [
    "market",
    "markets",
    "market share",
    "competitor*",
    "competit*",
    "rival*",
    "industry",
    "trend*",
    "pricing",
    "analyst*",
  ],
  legal: [
    "lawsuit*",
    "legal",
    "lawyer*",
    "attorney*",
    "regulator*",
    "complian*",
    "gdpr",
    "litigation",
    "court",
    "contract*",
  ],
  people: [
    "hire",
    "hired",
    "hiring",
    "recruit*",
    "onboard*",
    "resign*",
    "layoff*",
    "morale",
    "headcount",
    "staff*",
    "employee*",
  ],
  product: ["feature*", "release*", "roadmap*", "product*", "beta", "launch*", "prototype*"],
  operations: [
    "deliver*",
    "shipping",
    "shipment*",
    "warehouse*",
    "logistic*",
    "inventory",
    "supply",
    "supplier*",
    "fulfil*",
    "fulfill*",
  ],
  strategy: ["strateg*", "mission", "vision", "values", "governance", "long-term", "roadmap*"],
};

/** One rule that raises the risk level, with the reason reported when it fires. */
export interface RiskRule {
  readonly level: Exclude<RiskLevel, "low">;
  readonly reason: string;
  readonly terms: readonly string[];
}

/** Phrases that raise the risk level. Order within a level decides the order of reasons on ties. */
export const RISK_RULES: readonly RiskRule[] = [
  {
    level: "critical",
    reason: "data loss",
    terms: [
      "data loss",
      "lost data",
      "data was lost",
      "data were lost",
      "data is lost",
      "data corruption",
      "corrupted data",
      "data was corrupted",
      "deleted data",
      "data was deleted",
    ],
  },
  {
    level: "critical",
    reason: "security breach",
    terms: [
      "security breach*",
      "data breach*",
      "privacy breach*",
      "breach of security",
      "data leak*",
      "leaked data",
      "leaked credential*",
      "leaked customer*",
      "was leaked",
      "were leaked",
      "ransomware",
      "compromised",
      "unauthorized access",
      "unauthorised access",
      "security incident*",
      "intrusion",
      "exfiltrat*",
      "stolen credential*",
      "credentials were stolen",
    ],
  },
  {
    level: "critical",
    reason: "complete outage",
    terms: [
      "complete outage",
      "total outage",
      "full outage",
      "major outage",
      "affect* all customers",
      "all customers affected",
      "all customers were affected",
      "all customers were unable",
      "all users affected",
      "production down",
      "prod down",
      "sev1",
      "sev-1",
      "sev 1",
      "p0",
    ],
  },
  {
    level: "critical",
    reason: "safety incident",
    terms: ["injury", "injuries", "injured", "fatalit*", "fire broke out"],
  },
  {
    level: "high",
    reason: "service outage",
    terms: [
      "outage*",
      "downtime",
      "went down",
      "service down",
      "site down",
      "servers down",
      "system down",
      "systems down",
      "service unavailable",
      "became unavailable",
      "unavailable for",
      "unreachable",
      "sev2",
      "sev-2",
      "sev 2",
    ],
  },
  {
    level: "high",
    reason: "security vulnerability",
    terms: ["vulnerab*", "exploit*", "phishing", "malware", "cve-*", "zero-day"],
  },
  {
    level: "high",
    reason: "customer churn",
    terms: [
      "churn*",
      "cancel* subscription*",
      "cancel* contract*",
      "cancel* account*",
      "cancel* our subscription*",
      "cancel* our contract*",
      "cancel* our account*",
      "cancel* the contract*",
      "cancel* the subscription*",
      "cancel* our plan",
      "move to a competitor",
      "moving to a competitor",
      "move to another provider",
      "terminate* contract*",
      "switch* to a competitor",
      "switching providers",
      "leaving for",
      "not renew*",
      "won't renew",
      "will not renew",
    ],
  },
  {
    level: "high",
    reason: "legal threat",
    terms: [
      "lawsuit*",
      "sue us",
      "sue you",
      "will sue",
      "to sue",
      "suing",
      "legal action",
      "lawyer*",
      "attorney*",
      "litigation",
      "in court",
      "to court",
      "regulator*",
      "breach of contract",
      "gdpr complaint",
      "class action",
    ],
  },
  {
    level: "high",
    reason: "financial loss",
    terms: ["revenue loss", "lost revenue", "losing money", "chargeback*", "penalt*", "fined"],
  },
  {
    level: "medium",
    reason: "service degradation",
    terms: ["degrad*", "latency", "slowdown*", "timeouts", "error rate*", "intermittent*", "failover"],
  },
  {
    level: "medium",
    reason: "incident",
    terms: ["incident*", "sev3", "sev-3", "rollback", "rolled back", "hotfix*"],
  },
  {
    level: "medium",
    reason: "customer complaint",
    terms: ["complain*", "refund*", "dissatisf*", "unacceptable", "escalat*"],
  },
  {
    level: "medium",
    reason: "delay",
    terms: [
      "delay*",
      "missed deadline*",
      "missed the deadline",
      "behind schedule",
      "backlog*",
      "late delivery",
    ],
  },
  {
    level: "medium",
    reason: "cost overrun",
    terms: ["over budget", "overbudget", "overrun*", "overspen*", "budget cut*", "cost increase*"],
  },
  {
    level: "medium",
    reason: "competitive threat",
    terms: ["undercut*", "price war", "losing market share", "lost market share", "competitor launch*"],
  },
  {
    level: "medium",
    reason: "staffing risk",
    terms: ["layoff*", "resign*", "attrition", "burnout", "understaffed"],
  },
];

/** Words that cancel a risk match when they precede it ("no data loss", "prevented an outage"). */
export const RISK_NEGATORS: ReadonlySet<string> = new Set([
  ...NEGATORS,
  "zero",
  "prevent",
  "prevented",
  "preventing",
  "avoid",
  "avoided",
  "avoiding",
  "averted",
]);

/** Last words that make a capitalised run an organisation ("Acme Inc", "Müller GmbH"). */
export const ORG_SUFFIXES: ReadonlySet<string> = new Set([
  "inc",
  "incorporated",
  "ltd",
  "limited",
  "llc",
  "llp",
  "lp",
  "corp",
  "corporation",
  "co",
  "company",
  "gmbh",
  "ag",
  "kg",
  "sa",
  "s.a",
  "sas",
  "sarl",
  "plc",
  "bv",
  "b.v",
  "nv",
  "n.v",
  "oy",
  "ab",
  "srl",
  "spa",
  "s.p.a",
  "pty",
  "kk",
  "group",
  "holdings",
  "partners",
]);

/** Words that make a capitalised run an organisation wherever they appear in it ("Bank of Nowhere"). */
export const ORG_WORDS: ReadonlySet<string> = new Set([
  "bank",
  "university",
  "college",
  "institute",
  "foundation",
  "association",
  "agency",
  "authority",
  "commission",
  "committee",
  "council",
  "ministry",
  "department",
  "bureau",
  "board",
  "union",
  "federation",
  "labs",
  "laboratories",
  "technologies",
  "technology",
  "systems",
  "solutions",
  "software",
  "networks",
  "logistics",
  "airlines",
  "airways",
  "motors",
  "energy",
  "capital",
  "ventures",
  "media",
  "studios",
  "services",
  "industries",
  "enterprises",
  "consulting",
  "pharmaceuticals",
  "hospital",
  "clinic",
  "school",
  "court",
  "police",
  "government",
  "cloud",
  "analytics",
  "insurance",
  "telecom",
  "communications",
  "electronics",
  "bakery",
  "supplies",
  "foods",
  "markets",
  "team",
  "freight",
  "express",
  "transport",
  "shipping",
  "retail",
  "trading",
  "pharma",
  "healthcare",
  "robotics",
  "dynamics",
  "mobility",
  "global",
  "international",
  "worldwide",
  "research",
]);

/** Titles that mark the following capitalised run as a person ("Dr. Jane Smith"); dropped from the name. */
export const PERSON_TITLES: ReadonlySet<string> = new Set([
  "mr",
  "mrs",
  "ms",
  "miss",
  "mx",
  "dr",
  "prof",
  "professor",
  "sir",
  "dame",
]);

/** Lowercase words allowed inside a capitalised run when another capitalised word follows ("Bank of X"). */
export const NAME_PARTICLES: ReadonlySet<string> = new Set([
  "of",
  "de",
  "van",
  "von",
  "der",
  "den",
  "da",
  "di",
  "du",
  "la",
  "le",
  "del",
  "della",
  "dos",
  "bin",
  "al",
]);

/** Verbs that, right after a single capitalised word, mark it as a person ("Maria said"). */
export const SPEECH_VERBS: ReadonlySet<string> = new Set([
  "said",
  "says",
  "wrote",
  "writes",
  "asked",
  "asks",
  "told",
  "tells",
  "mentioned",
  "explained",
  "complained",
  "thanked",
  "noted",
  "added",
  "emailed",
  "messaged",
  "promised",
  "suggested",
  "agreed",
  "argued",
  "warned",
  "believes",
  "thinks",
  "feels",
  "herself",
  "himself",
]);

/**
 * Verbs that, right after a lone capitalised word at the start of a sentence, show it is an actor worth
 * keeping ("Stripe reported…"), without saying whether a person or an organisation.
 */
export const ACTOR_VERBS: ReadonlySet<string> = new Set([
  "reported",
  "reports",
  "announced",
  "announces",
  "launched",
  "launches",
  "released",
  "confirmed",
  "confirms",
  "acquired",
  "raised",
  "published",
  "introduced",
  "unveiled",
  "denied",
  "replied",
  "responded",
  "posted",
  "shipped",
  "sent",
  "called",
  "joined",
]);

/** Words that, up to three words before a lone capitalised word, mark it as a person ("thanks to Aisha"). */
export const PERSON_CONTEXT: ReadonlySet<string> = new Set([
  "thank",
  "thanks",
  "dear",
  "hi",
  "hello",
  "hey",
  "cc",
  "ping",
  "pinged",
  "ask",
  "asked",
  "tell",
  "told",
  "colleague",
  "colleagues",
  "manager",
  "engineer",
  "driver",
  "mr",
  "mrs",
  "ms",
]);

/** Words after which a lone capitalised word is probably a place ("in Berlin"), so it is not reported. */
export const PLACE_PREPOSITIONS: ReadonlySet<string> = new Set([
  "in",
  "near",
  "across",
  "throughout",
  "within",
]);

/** Capitalised words that are never names on their own: weekdays, months, common acronyms, greetings. */
export const NON_ENTITY_WORDS: ReadonlySet<string> = new Set(
  `i i'm i've i'd i'll ok okay hi hello hey dear thanks regards cheers best please yes no
  monday tuesday wednesday thursday friday saturday sunday
  january february march april may june july august september october november december
  q1 q2 q3 q4 h1 h2 fy am pm utc gmt cet cest pst pdt est edt eod eow eta fyi asap tbd tba n/a aka
  api apis kpi kpis okr okrs sla slas slo slos sli roi cac ltv arr mrr nps csat
  ceo cto cfo coo cio ciso cmo vp svp evp hr it pr qa ui ux url urls id ids faq
  dns cpu gpu ram ssd sql http https tls ssl vpn sso mfa 2fa pdf csv json xml yaml html css ip os sdk cli
  eur usd gbp chf jpy cny inr aud cad sek nok dkk pln
  eu us uk usa emea apac latam amer dach nordics
  european american british german french spanish italian dutch chinese japanese indian english asian
  african canadian australian swiss polish nordic scandinavian irish scottish welsh
  p0 p1 p2 p3 p4 sev1 sev2 sev3 sev4 rca eng ops devops sre
  internet web email e-mail update note edit re fw fwd tldr ps`
    .split(/\s+/)
    .filter(Boolean),
);

/** Common words that open sentences capitalised; dropped from the start of a capitalised run. */
export const SENTENCE_STARTERS: ReadonlySet<string> = new Set(
  `yesterday today tomorrow tonight however also after before during unfortunately fortunately luckily
  overall currently recently finally first second third then next last since although because while
  meanwhile additionally furthermore moreover still again instead otherwise please thanks thank hi hello
  dear sadly hopefully honestly frankly basically apparently obviously clearly maybe perhaps around
  earlier later update summary impact timeline background action actions status customers customer
  revenue our team management everyone nobody someone anyone good great bad`
    .split(/\s+/)
    .filter(Boolean),
);

/** Words whose trailing period does not end a sentence. */
export const ABBREVIATIONS: ReadonlySet<string> = new Set(
  `mr mrs ms mx dr prof sr jr st vs etc e.g i.e inc ltd corp co no nos approx est dept fig al cf ca
  jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun u.s u.k e.u a.m p.m`
    .split(/\s+/)
    .filter(Boolean),
);

/** Very common words per language; the language with clearly the most hits is reported. */
export const LANGUAGE_HINTS: Readonly<Record<string, ReadonlySet<string>>> = {
  en: new Set(
    "the and is are was were of to with that this for not have has it on be by from at we our".split(" "),
  ),
  de: new Set(
    "der die das und ist sind nicht mit ein eine ich wir auf für von zu den dem des im auch".split(" "),
  ),
  fr: new Set("le la les et est sont des une pas pour avec nous dans sur du au ce qui que".split(" ")),
  es: new Set("el los las y es son una para con por que del está pero nosotros en lo se".split(" ")),
};
