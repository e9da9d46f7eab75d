/**
 * The credential, kept for this browser tab only (sessionStorage): entered once in the sign-in form,
 * sent in the `Authorization` header by the client, never put in a URL (nor in the page's address, a
 * query string or the event stream's URL).
 */

const API_KEY = "cybernetic.dashboard.apiKey";
const GATEWAY = "cybernetic.dashboard.gateway";

/** What the dashboard signs in with. */
export interface Session {
  /** The gateway's origin, e.g. `http://127.0.0.1:8080`; by default the page's own. */
  gateway: string;
  apiKey: string;
}

/** The session of this tab, if one was saved. */
export function loadSession(): Session | undefined {
  const apiKey = sessionStorage.getItem(API_KEY);
  if (!apiKey) return undefined;
  return { apiKey, gateway: sessionStorage.getItem(GATEWAY) ?? location.origin };
}

/** Keeps the session for this tab. */
export function saveSession(session: Session): void {
  sessionStorage.setItem(API_KEY, session.apiKey);
  sessionStorage.setItem(GATEWAY, session.gateway);
}

/** Forgets the key (sign out, or a key the gateway refused). */
export function clearSession(): void {
  sessionStorage.removeItem(API_KEY);
}

/** The key saved for this tab, asked for before every request and stream connect. */
export function currentKey(): string {
  return sessionStorage.getItem(API_KEY) ?? "";
}
