// PortalLinks over HTTP for Node.js front-ends: Connect calls with Node's built-in fetch, no dependencies.
// Every method of Protos/portal_links/v1/services.proto is `call("Service/Method", message)`; the messages are
// the protos' JSON form (lowerCamelCase fields, 64-bit integers as strings, enums by name). docs/http.md.

/** A refusal from the gateway: the Connect code ("unauthenticated", "failed_precondition", ...), its message,
 * and for refused links in Accounts/Register the link's reason ("expired", "link_revoked", ...). */
export class PortalLinksError extends Error {
  constructor(code, message, reason = "") {
    super(`${code}: ${message}`);
    this.name = "PortalLinksError";
    this.code = code;
    this.reason = reason;
  }
}

/** The reason of a `portal_links.v1.Error` detail: field 2, a string, in the detail's base64 protobuf. */
function detailReason(details) {
  const detail = (details ?? []).find((d) => d.type === "portal_links.v1.Error");
  if (!detail) return "";
  const bytes = Buffer.from(detail.value, "base64");
  for (let i = 0; i < bytes.length; ) {
    const key = bytes[i++];
    let length = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[i++];
      length |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
    }
    if (key === 0x12) return bytes.subarray(i, i + length).toString("utf8");
    i += length;
  }
  return "";
}

export function createClient({ baseUrl, apiKey, timeoutMs = 5000 }) {
  const base = baseUrl.replace(/\/+$/, "");
  async function call(method, message = {}, { timeout = timeoutMs } = {}) {
    let answer;
    try {
      answer = await fetch(`${base}/portal_links.v1.${method}`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "Connect-Protocol-Version": "1",
          "Connect-Timeout-Ms": String(timeout),
          Authorization: `Bearer ${apiKey}`,
        },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(timeout),
      });
    } catch (error) {
      throw new PortalLinksError(error.name === "TimeoutError" ? "deadline_exceeded" : "unavailable", error.message);
    }
    const text = await answer.text();
    let body = {};
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = {};
    }
    if (answer.ok) return body;
    throw new PortalLinksError(body.code ?? `http_${answer.status}`, body.message ?? answer.statusText, detailReason(body.details));
  }
  return {
    call,
    /** `{ valid, clientId, displayName, expiresAt, linkId }`, or `{ reason }` for a refused link. */
    verify: (token) => call("Links/Verify", { token }),
    register: (token, email, password, displayName) => call("Accounts/Register", { token, email, password, displayName }),
    signIn: (email, password) => call("Accounts/SignIn", { email, password }),
    verifySession: (token) => call("Sessions/Verify", { token }),
    signOut: (token) => call("Sessions/SignOut", { token }),
  };
}

/** Text for HTML, escaped per Unicode scalar: markup characters, controls and bidi overrides as numeric
 * references, so that a client's name can neither add markup nor reorder the page. */
export function escapeHTML(text) {
  let out = "";
  for (const character of String(text)) {
    const scalar = character.codePointAt(0);
    if ("<>&\"'".includes(character) || scalar < 0x20 || (scalar >= 0x7f && scalar < 0xa0)
        || (scalar >= 0x202a && scalar <= 0x202e) || (scalar >= 0x2066 && scalar <= 0x2069)
        || scalar === 0x200e || scalar === 0x200f || scalar === 0x061c) {
      out += `&#x${scalar.toString(16).toUpperCase()};`;
    } else {
      out += character;
    }
  }
  return out;
}
