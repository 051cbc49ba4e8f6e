// Against a live `portal-links serve` started here (PORTAL_LINKS_BIN), in a throw-away home, on free ports.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, escapeHTML, PortalLinksError } from "../portal-links.mjs";
import { joinPage } from "../join-page.mjs";

const bin = process.env.PORTAL_LINKS_BIN;
const work = mkdtempSync(join(tmpdir(), "portal-links-node-"));
// A home that does not exist yet: serve creates it and prints a key and a sample link.
const env = { ...process.env, PORTAL_LINKS_HOME: join(work, "home") };
let server, key, sampleLink, baseUrl;

const freePort = () => new Promise((resolve) => {
  const probe = createServer().listen(0, "127.0.0.1", () => { const { port } = probe.address(); probe.close(() => resolve(port)); });
});
const staff = (...args) => execFileSync(bin, args, { env, encoding: "utf8" }).trim();

before(async () => {
  assert.ok(bin, "set PORTAL_LINKS_BIN to a portal-links binary");
  const [listen, http] = [await freePort(), await freePort()];
  server = spawn(bin, ["serve", "--listen", `127.0.0.1:${listen}`, "--http", `127.0.0.1:${http}`, "--log-level", "warning"], { env });
  let out = "", err = "";
  server.stdout.on("data", (chunk) => { out += chunk; });
  server.stderr.on("data", (chunk) => { err += chunk; });
  for (let i = 0; i < 300 && !err.includes("listening on"); i++) await new Promise((r) => setTimeout(r, 100));
  key = /API key \(shown once\): (\S+)/.exec(out)?.[1];
  sampleLink = /sample link to verify: (\S+)/.exec(out)?.[1];
  assert.ok(key && sampleLink, `serve printed its key and link: ${err}`);
  baseUrl = `http://127.0.0.1:${http}`;
});

after(() => {
  server?.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
});

test("a valid link verifies, an invalid one is an answer with its reason", async () => {
  const portal = createClient({ baseUrl, apiKey: key });
  const valid = await portal.verify(sampleLink);
  assert.equal(valid.valid, true);
  assert.equal(valid.clientId, "demo");
  assert.equal(valid.displayName, "Demo Client");
  assert.match(valid.linkId, /^[0-9a-f]{16}$/);
  const invalid = await portal.verify("garbage");
  assert.equal(invalid.valid, undefined);
  assert.equal(invalid.reason, "REASON_MALFORMED");
});

test("refusals are PortalLinksErrors with the Connect code", async () => {
  const stranger = createClient({ baseUrl, apiKey: "plk_not_a_key" });
  await assert.rejects(stranger.verify(sampleLink), (error) => error instanceof PortalLinksError && error.code === "unauthenticated");
  const portal = createClient({ baseUrl, apiKey: key });
  await assert.rejects(portal.register("garbage", "ana@acme.example", "correct horse battery"),
    (error) => error.code === "failed_precondition" && error.reason === "malformed");
  await assert.rejects(portal.call("Links/Nothing"), (error) => error.code === "http_404");
});

test("the join page shows the client's name escaped and registers through the link", async () => {
  const link = staff("issue", "--client", "acme", "--name", '<b>Zoë & "Co"</b>', "--format", "token");
  const page = joinPage(createClient({ baseUrl, apiKey: key })).listen(0, "127.0.0.1");
  await new Promise((resolve) => page.once("listening", resolve));
  const at = `http://127.0.0.1:${page.address().port}`;
  try {
    const shown = await (await fetch(`${at}/join?token=${encodeURIComponent(link)}`)).text();
    assert.ok(shown.includes("Join &#x3C;b&#x3E;Zoë &#x26; &#x22;Co&#x22;&#x3C;/b&#x3E;"), shown);
    assert.ok(!shown.includes("<b>"));
    const joined = await fetch(`${at}/join`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: link, email: "Ana@Acme.example", password: "correct horse battery" }),
    });
    assert.equal(joined.status, 200);
    assert.ok((await joined.text()).includes("Welcome, ana@acme.example."));
    const refused = await fetch(`${at}/join?token=garbage`);
    assert.equal(refused.status, 403);
  } finally {
    page.close();
  }
});

test("escapeHTML takes markup, controls and bidi overrides to numeric references", () => {
  assert.equal(escapeHTML("a<b>&\"'"), "a&#x3C;b&#x3E;&#x26;&#x22;&#x27;");
  assert.equal(escapeHTML("x\u202Ey\u0007z\u2066"), "x&#x202E;y&#x7;z&#x2066;");
  assert.equal(escapeHTML("Zoë 日本 😀"), "Zoë 日本 😀");
});
