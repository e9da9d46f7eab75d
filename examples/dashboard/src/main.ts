/**
 * The page: the sign-in form until a key is in this tab's session, then the dashboard. The key is
 * given to the client as `getToken`, read from sessionStorage before every request and every stream
 * (re)connect; it travels in the `Authorization` header only, never in a URL.
 */
import { CyberneticApiError, createClient } from "@cybernetic/client";
import { type RunningDashboard, startDashboard } from "./dashboard.ts";
import { byId } from "./dom.ts";
import { clearSession, currentKey, loadSession, type Session, saveSession } from "./session.ts";
import "./style.css";

let running: RunningDashboard | undefined;

function show(signedIn: boolean): void {
  byId("login").hidden = signedIn;
  byId("dashboard").hidden = !signedIn;
  byId("sign-out").hidden = !signedIn;
}

function signOut(message?: string): void {
  running?.stop();
  running = undefined;
  clearSession();
  show(false);
  const error = byId("login-error");
  error.hidden = !message;
  error.textContent = message ?? "";
}

async function open(session: Session): Promise<void> {
  const client = createClient({ baseUrl: session.gateway, getToken: currentKey });
  show(true);
  try {
    running = await startDashboard(client, (message) => signOut(`The gateway refused the key: ${message}`));
  } catch (error) {
    if (CyberneticApiError.isInstance(error) && (error.status === 401 || error.status === 403)) {
      signOut(`The gateway refused the key: ${error.message}`);
    } else {
      signOut(`Could not load the dashboard: ${(error as Error).message}`);
    }
  }
}

const form = byId<HTMLFormElement>("login-form");
const gatewayInput = form.elements.namedItem("gateway") as HTMLInputElement;
gatewayInput.value = loadSession()?.gateway ?? location.origin;
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const session = {
    gateway:
      String(data.get("gateway") ?? "")
        .trim()
        .replace(/\/+$/, "") || location.origin,
    apiKey: String(data.get("apiKey") ?? "").trim(),
  };
  if (!session.apiKey) return;
  saveSession(session);
  (form.elements.namedItem("apiKey") as HTMLInputElement).value = "";
  void open(session);
});
byId("sign-out").addEventListener("click", () => signOut());

const saved = loadSession();
if (saved) void open(saved);
else show(false);
