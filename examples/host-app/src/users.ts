/**
 * The host app's own users: a stand-in for whatever your app already has (a users table, sessions,
 * JWTs). Cybernetic knows nothing about them. Each user belongs to an organisation, and each
 * organisation is one Cybernetic tenant (see `tenant-directory.ts`), so teammates share notes and files
 * and other organisations see none of them.
 */
import { createHash } from "node:crypto";

/** An organisation of the app: becomes one Cybernetic tenant, with this slug and name. */
export interface Organisation {
  /** Lowercase letters, digits and `-` (a tenant slug). */
  slug: string;
  name: string;
}

/** A signed-in user of the app. */
export interface HostUser {
  id: string;
  name: string;
  organisation: Organisation;
}

/** A user with the bearer token that signs them in. */
export interface UserAccount extends HostUser {
  token: string;
}

/** Finds who a bearer token belongs to. */
export interface UserDirectory {
  /** The user the token signs in, or undefined. */
  authenticate(token: string): HostUser | undefined;
}

/** The demo's users: Alice and Carol work at Acme, Bob at Globex. */
export const DEMO_USERS: readonly UserAccount[] = [
  { id: "alice", name: "Alice", token: "alice-token", organisation: { slug: "acme", name: "Acme Ltd" } },
  { id: "carol", name: "Carol", token: "carol-token", organisation: { slug: "acme", name: "Acme Ltd" } },
  { id: "bob", name: "Bob", token: "bob-token", organisation: { slug: "globex", name: "Globex" } },
];

const digest = (token: string) => createHash("sha256").update(token).digest("base64url");

/**
 * A directory over a fixed list of accounts. Tokens are looked up by their SHA-256, so the lookup's
 * timing says nothing about how much of a guessed token was right.
 *
 * @example
 * ```ts
 * const users = createUserDirectory(DEMO_USERS);
 * users.authenticate("alice-token")?.organisation.slug; // "acme"
 * ```
 */
export function createUserDirectory(accounts: readonly UserAccount[]): UserDirectory {
  const byDigest = new Map<string, HostUser>();
  for (const { token, ...user } of accounts) byDigest.set(digest(token), user);
  return { authenticate: (token) => byDigest.get(digest(token)) };
}
