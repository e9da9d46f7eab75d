/**
 * The API's contract: request schemas, response and event types. No Node built-ins, so browsers and the
 * client can import it.
 */

export * from "./analysis.js";
export { type Artifact, type ListArtifactsInput, listArtifactsSchema } from "./artifacts.js";
// Common
export {
  cursorSchema,
  jsonObjectSchema,
  limitSchema,
  type Page,
  type SystemNumber,
  slugSchema,
  systemNames,
  systemSchema,
  uuidSchema,
} from "./common.js";
export {
  type CreateEpisodeInput,
  createEpisodeSchema,
  type Episode,
  type EpisodeStatus,
  episodeStatuses,
  type ListEpisodesInput,
  listEpisodesSchema,
} from "./episodes.js";
// Events
export {
  CUSTOM_EVENT_CATEGORY,
  type CyberneticEvent,
  customEventTypeSchema,
  type EventType,
  eventCategories,
  eventPatternSchema,
  eventTypes,
  matchesEventPattern,
} from "./events.js";
export {
  type CreatePolicyInput,
  createPolicySchema,
  type ListPoliciesInput,
  listPoliciesSchema,
  type Policy,
  type UpdatePolicyInput,
  updatePolicySchema,
} from "./policies.js";
// Policy rules
export {
  type AlgedonicAction,
  algedonicActionSchema,
  type JsonLogicIssue,
  jsonLogicOperators,
  jsonLogicSchema,
  type NotifyAction,
  notifyActionSchema,
  type PolicyAction,
  type PolicyRules,
  type PublishAction,
  policyActionSchema,
  policyRulesSchema,
  publishActionSchema,
  type SetStateAction,
  setStateActionSchema,
  validateJsonLogic,
} from "./policy-rules.js";
export {
  type SystemState,
  type SystemStateHistoryEntry,
  type UpdateSystemStateInput,
  updateSystemStateSchema,
} from "./systems.js";
// Resources
export {
  type ApiKeyInfo,
  type ApiKeyScope,
  apiKeyScopes,
  type CreateApiKeyInput,
  type CreateTenantInput,
  createApiKeySchema,
  createTenantSchema,
  type IssuedApiKey,
  type Tenant,
} from "./tenants.js";
