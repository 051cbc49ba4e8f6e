// A join page for a client portal: GET /join?token=... shows who the invitation is for, POST /join registers
// through it. Run: PORTAL_LINKS_URL=http://127.0.0.1:7421 PORTAL_LINKS_API_KEY=plk_... node join-page.mjs
import http from "node:http";
import { createClient, escapeHTML, PortalLinksError } from "./portal-links.mjs";

const reasons = {
  expired: "This invitation has expired. Ask for a new one.",
  link_revoked: "This invitation was withdrawn.",
  client_revoked: "This invitation was withdrawn.",
  link_full: "This invitation has been used as many times as it allows.",
};

export function joinPage(portal) {
  return http.createServer(async (request, response) => {
    const url = new URL(request.url, "http://localhost");
    const send = (status, html) => {
      response.writeHead(status, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
      response.end(`<!doctype html><meta charset="utf-8"><title>Join</title>${html}`);
    };
    try {
      if (request.method === "GET" && url.pathname === "/join") {
        const token = url.searchParams.get("token") ?? "";
        const link = await portal.verify(token);
        if (!link.valid) return send(403, `<p>${escapeHTML(reasons[(link.reason ?? "").replace(/^REASON_/, "").toLowerCase()] ?? "This invitation is not valid.")}</p>`);
        return send(200, `<h1>Join ${escapeHTML(link.displayName || link.clientId)}</h1>
<form method="post" action="/join"><input type="hidden" name="token" value="${escapeHTML(token)}">
<input name="email" type="email" required><input name="password" type="password" minlength="8" required>
<button>Create account</button></form>`);
      }
      if (request.method === "POST" && url.pathname === "/join") {
        let body = "";
        for await (const chunk of request) {
          body += chunk;
          if (body.length > 16_384) return send(413, "<p>Too large.</p>");
        }
        const form = new URLSearchParams(body);
        const { account } = await portal.register(form.get("token") ?? "", form.get("email") ?? "", form.get("password") ?? "");
        return send(200, `<p>Welcome, ${escapeHTML(account.email)}.</p>`);
      }
      return send(404, "<p>Not found.</p>");
    } catch (error) {
      if (error instanceof PortalLinksError && error.code === "failed_precondition") {
        return send(403, `<p>${escapeHTML(reasons[error.reason] ?? "This invitation is not valid.")}</p>`);
      }
      if (error instanceof PortalLinksError && error.code === "invalid_argument") return send(400, `<p>${escapeHTML(error.message)}</p>`);
      return send(503, "<p>Please try again in a moment.</p>");
    }
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const portal = createClient({ baseUrl: process.env.PORTAL_LINKS_URL ?? "http://127.0.0.1:7421", apiKey: process.env.PORTAL_LINKS_API_KEY });
  joinPage(portal).listen(Number(process.env.PORT ?? 3000), "127.0.0.1");
}
