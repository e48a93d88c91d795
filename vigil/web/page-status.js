// Status: what the device is, its time, a security summary and who is connected.

import * as api from "./api.js";
import { ongoingCard } from "./page-recordings.js";
import { poeCard } from "./page-poe.js";
import { panelCard } from "./status-panel.js";
import { locateCard, speakerTestCard } from "./page-speakertest.js";
import { storageCard } from "./page-storage.js";
import { interval, ntp, syncText } from "./page-time.js";
import { RANK, busy, card, clear, facts, h, localTime, messageArea, say } from "./ui.js";

const ACCESS = { both: "HTTP and HTTPS", http: "HTTP only", https: "HTTPS only" };
const POLICY = { basic: "Basic", digest: "Digest", basic_digest: "Basic and Digest" };
const METHODS = { basic: "HTTP Basic", digest: "HTTP Digest", session: "Web session" };

function flag(on, onText = "On", offText = "Off") {
  return h("span", { class: on ? "pill on" : "pill off" }, on ? onText : offText);
}

/** Wait for every call; an ended session stops the page, other failures show per card. */
async function settle(app, calls) {
  const results = await Promise.allSettled(calls);
  const expired = results.find((r) => r.status === "rejected" && r.reason?.status === 401);
  if (expired) throw expired.reason;
  return results.map((r) => (r.status === "fulfilled" ? r.value : r.reason));
}

function failed(value) {
  return value instanceof Error;
}

function deviceCard(info) {
  if (failed(info)) return card("Device", h("p", { class: "message error", text: info.message }));
  const p = info.propertyList;
  return card(
    "Device",
    facts([
      ["Product", p.ProdFullName],
      ["Product number", p.ProdNbr],
      ["Serial number", h("span", { id: "serial-number", text: p.SerialNumber })],
      ["Firmware version", p.Version],
      ["Build date", p.BuildDate],
      ["Hardware ID", p.HardwareID],
      ["Architecture", p.Architecture],
      ["System on chip", p.Soc],
    ]),
  );
}

/** "2026-01-31T13:00:00+01:00" as "2026-01-31 13:00:00 (UTC+01:00)". */
function readableLocal(iso) {
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(.*)$/.exec(iso || "");
  if (!match) return iso;
  const offset = match[3] === "Z" || match[3] === "+00:00" ? "UTC" : `UTC${match[3]}`;
  return `${match[1]} ${match[2]} (${offset})`;
}

/** The time sync status (ntp.cgi, administrators only): whether the device is in sync, with what,
 * and the time until the next sync. */
function syncRows(client) {
  if (client === null) return [];
  if (failed(client)) return [["Time sync status", client.message]];
  const { kind, text } = syncText(client);
  const state = { ok: "Synchronized", error: "Not synchronized", busy: "Synchronizing", off: "Off (custom date and time)" }[kind];
  const s = client.syncStatus || {};
  const rows = [["Time sync status", h("span", { id: "time-sync-state", title: text, style: "display:inline-flex;align-items:center;gap:8px" },
    h("span", { class: `dot ${kind}`, "aria-hidden": "true" }), state)]];
  if (!client.enabled) return rows;
  rows.push(["NTP servers", (s.servers || []).join(", ") || "None set"]);
  if (client.synced) rows.push(["Offset", `${client.timeOffset >= 0 ? "+" : ""}${client.timeOffset.toFixed(3)} ms`]);
  else if (s.error) rows.push(["Problem", s.error]);
  if (client.timeToNextSync) rows.push(["Next sync", `in ${interval(client.timeToNextSync)}`]);
  return rows;
}

function timeCard(time, sync) {
  if (failed(time)) return card("Time", h("p", { class: "message error", text: time.message }));
  const rows = [
    ["Device time (UTC)", h("time", { datetime: time.dateTime, text: time.dateTime.replace("T", " ").replace("Z", "") })],
    ["Local time", h("time", { datetime: time.localDateTime, text: readableLocal(time.localDateTime) })],
    ["Time zone", time.timeZone || time.posixTimeZone],
    ["POSIX time zone", time.posixTimeZone],
    ["Daylight saving time", flag(time.dstEnabled)],
    ...syncRows(sync),
  ];
  const section = card("Time", facts(rows));
  if (sync !== null) section.append(h("p", {}, h("a", { href: "#/time", text: "NTP settings" })));
  return section;
}

function securityCard(params, accounts) {
  if (failed(params)) return card("Security", h("p", { class: "message error", text: params.message }));
  const v = params;
  return card(
    "Security",
    facts([
      ["HTTPS", flag(v["HTTPS.Enabled"] === "yes", "Enabled", "Disabled")],
      ["Allow access through", ACCESS[v["HTTPS.AllowAccessThrough"]] || v["HTTPS.AllowAccessThrough"]],
      ["Authentication", POLICY[v["Network.HTTP.AuthenticationPolicy"]] || v["Network.HTTP.AuthenticationPolicy"]],
      ["Brute-force blocking", flag(v["System.BruteForce.Enabled"] === "yes")],
      ["Anonymous viewing", flag(v["System.BoaProtViewer"] === "anonymous", "Allowed", "Off")],
      ["Accounts", failed(accounts) ? accounts.message : String(accounts.length)],
    ]),
  );
}

function clientsCard(app) {
  const body = h("div");
  const area = messageArea();
  const refresh = h("button", { type: "button" }, "Refresh");
  const load = async () => {
    try {
      const clients = await api.recentClients();
      say(area, "", "");
      if (!clients.length) {
        clear(body, h("p", { class: "muted", text: "No clients in the last 10 minutes." }));
        return;
      }
      clear(
        body,
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            {},
            h("caption", { class: "visually-hidden", text: "Clients seen in the last 10 minutes" }),
            h("thead", {}, h("tr", {}, ["Address", "Account", "Method", "Last seen"].map((t) => h("th", { scope: "col", text: t })))),
            h(
              "tbody",
              {},
              clients.map((c) =>
                h(
                  "tr",
                  {},
                  h("td", { text: c.address }),
                  h("td", { text: c.user }),
                  h("td", { text: METHODS[c.method] || c.method }),
                  h("td", {}, h("time", { datetime: c.lastSeen, title: c.lastSeen, text: localTime(c.lastSeen) })),
                ),
              ),
            ),
          ),
        ),
      );
    } catch (error) {
      app.fail(error, area);
    }
  };
  refresh.addEventListener("click", () => busy(refresh, load));
  const section = card("Connected clients", h("p", { class: "muted", text: "Accounts seen in the last 10 minutes." }), area, body);
  section.querySelector("h2").after(h("div", { class: "card-tools" }, refresh));
  load();
  return section;
}

export default async function statusPage(container, app) {
  const admin = app.role === "admin";
  // Only administrators may read these; asking for them otherwise fills the system log.
  const wanted = [
    "HTTPS.Enabled",
    "HTTPS.AllowAccessThrough",
    "Network.HTTP.AuthenticationPolicy",
    "System.BruteForce.Enabled",
    "System.BoaProtViewer",
  ];
  const loading = h("p", { class: "muted", text: "Loading…" });
  container.append(loading);
  const [info, time, params, accounts, sync] = await settle(app, [
    api.deviceInfo(),
    api.timeInfo(),
    admin ? api.listParams(wanted) : Promise.resolve({}),
    admin ? api.listAccounts() : Promise.resolve([]),
    admin ? ntp("getNTPInfo").then((d) => d.client) : Promise.resolve(null),
  ]);
  const grid = h("div", { class: "grid" }, deviceCard(info), timeCard(time, sync), ongoingCard(app));
  if (app.hasApi("nvr-poe")) grid.append(poeCard(app));
  const panel = await panelCard(app).catch(() => null);
  if (panel) grid.append(panel);
  if (RANK[app.role] >= RANK.operator) grid.append(storageCard(app));
  if (app.hasApi("speaker-test") && RANK[app.role] >= RANK.operator) grid.append(locateCard(app));
  if (app.hasApi("speaker-test") && admin) grid.append(speakerTestCard(app));
  if (admin) grid.append(securityCard(params, accounts), clientsCard(app));
  loading.replaceWith(grid);
}
