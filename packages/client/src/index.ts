/**
 * @cybernetic/client: a typed client of the Cybernetic API for browsers and Node ≥ 20, with an event
 * stream that reconnects and resumes by itself. Its only runtime dependency is eventsource-parser.
 */

// The contract's types (request, response and event shapes), self-contained: no @cybernetic/core needed
export type * from "./contract-types.js";
// The client
export {
  type ArtifactDownload,
  type CyberneticClient,
  createClient,
  type HistoryQuery,
  type ListQuery,
  type ListResult,
  type UnitSystemsClient,
  type WriteOptions,
} from "./create-client.js";
export { CyberneticApiError } from "./cybernetic-api-error.js";
// Events
export type {
  StreamConnected,
  StreamItem,
  StreamReconnecting,
  StreamResync,
  SubscribeOptions,
} from "./event-stream.js";
export type { ClientOptions, RetryOptions } from "./transport.js";
export type { ArtifactBody, UploadOptions } from "./upload-body.js";
