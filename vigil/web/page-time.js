// Time and location (System > Time and location in the manuals): how the device keeps its date
// and time (NTS, NTP servers from DHCP, manual NTP servers, or a custom date and time with "Get
// from system"), its time zone, the synchronisation state, and where the device is. Everything
// goes through time.cgi, ntp.cgi and the geolocation API; administrators only, as those are.

import * as api from "./api.js";
import { busy, card, checkbox, clear, facts, field, h, invalid, messageArea, pad, say } from "./ui.js";

const time = (method, params) => api.jsonApi("/axis-cgi/time.cgi", "1.1", method, params);
export const ntp = (method, params) => api.jsonApi("/axis-cgi/ntp.cgi", "1.5", method, params);
const POSIX = "posix";
const MODES = [
  ["nts", "Automatic date and time (manual NTS KE servers)"],
  ["dhcp", "Automatic date and time (NTP servers using DHCP)"],
  ["manual", "Automatic date and time (manual NTP servers)"],
  ["custom", "Custom date and time"],
];

/** "2^n seconds" in words: 64 s, 17 min, 1.1 h, 4.5 d. */
export function interval(seconds) {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

/** The synchronisation state in one sentence, with the kind of dot that goes with it. */
export function syncText(client) {
  const s = client.syncStatus || {};
  if (!client.enabled) return { kind: "off", text: "Not synchronized: the date and time are set manually." };
  const next = client.timeToNextSync ? ` Next sync in ${interval(client.timeToNextSync)}.` : "";
  if (client.synced) {
    const how = s.adjustment === "slew" && Math.abs(s.slewRemaining) >= 1 ? ", adjusting gradually" : "";
    const offset = `${client.timeOffset >= 0 ? "+" : ""}${client.timeOffset.toFixed(3)} ms`;
    return { kind: "ok", text: `Synchronized with ${(s.answered || []).join(", ")} (offset ${offset}${how}).${next}` };
  }
  if (s.error) return { kind: "error", text: `Not synchronized: ${s.error}.${next}` };
  return { kind: "busy", text: `Synchronizing with ${(s.servers || []).join(", ") || "the servers"}…` };
}

function pollSelect(value, label) {
  const select = h(
    "select",
    { "aria-label": label },
    Array.from({ length: 25 }, (_, n) => h("option", { value: String(n), text: `${interval(2 ** n)} (2^${n} s)` })),
  );
  select.value = String(value);
  return select;
}

/** Inputs for up to `max` server addresses, with add and remove. */
function serverList(label, values, max) {
  const rows = h("div", { class: "stack" });
  const add = h("button", { type: "button" }, `+ Add ${label}`);
  const sync = () => {
    add.disabled = rows.children.length >= max;
    [...rows.children].forEach((row, i) => {
      row.querySelector("input").setAttribute("aria-label", `${label} ${i + 1}`);
      row.querySelector("button").setAttribute("aria-label", `Remove ${label} ${i + 1}`);
    });
  };
  const addRow = (value) => {
    const input = h("input", { value, autocomplete: "off", spellcheck: "false", placeholder: "host or IP address[:port]" });
    const remove = h("button", { type: "button", class: "danger-text" }, "Remove");
    const row = h("div", { class: "inline-form" }, input, remove);
    remove.addEventListener("click", () => {
      row.remove();
      sync();
    });
    rows.append(row);
    sync();
    return input;
  };
  add.addEventListener("click", () => addRow("").focus());
  for (const value of values) addRow(value);
  if (!values.length) addRow("");
  return {
    element: h("fieldset", {}, h("legend", { text: `${label}s` }), rows, h("div", { class: "actions" }, add)),
    values: () => [...rows.querySelectorAll("input")].map((i) => i.value.trim()).filter(Boolean),
  };
}

/** The UTC offset (ms) of IANA `zone` at the instant `utcMs`, from the browser's own tz data. */
function zoneOffset(zone, utcMs) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(utcMs));
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second")) - Math.floor(utcMs / 1000) * 1000;
}

/** A wall time (as Date.UTC of its fields) in `zone` as UTC milliseconds; `fallbackOffset` (ms)
 * serves where the browser does not know the zone (a POSIX rule). */
function wallToUtc(wallMs, zone, fallbackOffset) {
  try {
    let guess = wallMs - zoneOffset(zone, wallMs);
    guess = wallMs - zoneOffset(zone, guess);
    return guess;
  } catch {
    return wallMs - fallbackOffset;
  }
}

/** "+02:00" at the end of an ISO time as milliseconds. */
function isoOffset(iso) {
  const m = /([+-])(\d\d):(\d\d)$/.exec(iso || "");
  return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60000 : 0;
}

function dateTimeCard(app, info, client) {
  const area = messageArea();
  const statusLine = h("p", { class: "mqtt-status", id: "time-sync-status", role: "status", "aria-live": "polite" });
  const showStatus = (c) => {
    const { kind, text } = syncText(c);
    clear(statusLine, h("span", { class: `dot ${kind}`, "aria-hidden": "true" }), text);
    statusLine.dataset.state = c.enabled ? (c.synced ? "synced" : "unsynced") : "off";
  };
  showStatus(client);
  const now = h("time", { id: "device-time" });
  let base = { device: Date.parse(info.dateTime), local: info.localDateTime, at: Date.now() };
  const tick = () => {
    const ms = base.device + (Date.now() - base.at);
    const offset = isoOffset(base.local);
    const wall = new Date(ms + offset);
    now.textContent = `${wall.toISOString().slice(0, 19).replace("T", " ")} (UTC${offset ? base.local.slice(-6) : ""})`;
    now.setAttribute("datetime", new Date(ms).toISOString());
  };
  tick();

  const mode = h("select", { id: "time-sync-mode" }, MODES.map(([value, label]) => h("option", { value, text: label })));
  mode.value = !client.enabled ? "custom" : client.NTSEnabled ? "nts" : client.serversSource === "DHCP" ? "dhcp" : "manual";
  const ntsServers = serverList("NTS KE server", client.staticNTSKEServers, client.maxSupportedStaticServers);
  const caCerts = h("input", { value: (client.NTSKEServerCACerts || []).join(", "), autocomplete: "off", spellcheck: "false" });
  const ntpServers = serverList("NTP server", client.staticServers, client.maxSupportedStaticServers);
  const advertised = h("p", { class: "hint", text: client.advertisedServers.length ? `From DHCP: ${client.advertisedServers.join(", ")}.` : "The DHCP lease gives no NTP server now: the fallback servers are used." });
  const maxPoll = pollSelect(client.maxpoll, "Max NTP poll time");
  const minPoll = pollSelect(client.minpoll, "Min NTP poll time");
  const polls = h("div", { class: "row-fields" }, field("Max NTP poll time", maxPoll), field("Min NTP poll time", minPoll));
  const ntsFields = h("div", {}, ntsServers.element, field("Trusted NTS KE CA certificates", caCerts, "Certificate ids, comma separated; empty trusts the system's CA certificates."));
  const serverFields = h("div", {}, ntpServers.element, advertised);

  const date = h("input", { type: "date", id: "custom-date" });
  const clock = h("input", { type: "time", step: "1", id: "custom-time" });
  let wallSetAt = null; // when the date and time fields were last filled or edited
  const fromSystem = h("button", { type: "button" }, "Get from system");
  const customFields = h("div", { class: "sub-fields" }, h("div", { class: "row-fields" }, field("Date", date), field("Time", clock)), fromSystem);
  const fillWall = (ms, offset) => {
    const wall = new Date(ms + offset);
    date.value = wall.toISOString().slice(0, 10);
    clock.value = wall.toISOString().slice(11, 19);
    wallSetAt = Date.now();
  };
  fillWall(base.device, isoOffset(base.local));
  wallSetAt = null; // shown, not chosen
  for (const input of [date, clock]) input.addEventListener("input", () => (wallSetAt = Date.now()));

  const zones = info.timeZones || [];
  const zone = h("select", { id: "time-zone" }, h("option", { value: POSIX, text: "POSIX time zone…" }), zones.map((z) => h("option", { value: z, text: z })));
  zone.value = info.timeZone || POSIX;
  const posix = h("input", { value: info.posixTimeZone || "", autocomplete: "off", spellcheck: "false", maxlength: "64" });
  const dst = checkbox("Daylight saving time", Boolean(info.dstEnabled), "Follow the DST part of the POSIX rule.");
  const posixFields = h("div", { class: "sub-fields" }, field("POSIX time zone", posix, "For example CET-1CEST,M3.5.0,M10.5.0/3."), dst.element);
  fromSystem.addEventListener("click", () => {
    const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zones.includes(browserZone)) zone.value = browserZone;
    syncMode();
    fillWall(Date.now(), zone.value === POSIX ? -new Date().getTimezoneOffset() * 60000 : zoneOffset(zone.value, Date.now()));
    say(area, "info", `The date, time and time zone of this computer (${browserZone}) are filled in. Save to set them.`);
  });

  const syncMode = () => {
    const m = mode.value;
    ntsFields.hidden = m !== "nts";
    serverFields.hidden = !(m === "dhcp" || m === "manual");
    advertised.hidden = m !== "dhcp";
    serverFields.querySelector("legend").textContent = m === "dhcp" ? "Fallback NTP servers" : "Manual NTP servers";
    polls.hidden = m === "custom";
    customFields.hidden = m !== "custom";
    posixFields.hidden = zone.value !== POSIX;
  };
  mode.addEventListener("change", syncMode);
  zone.addEventListener("change", syncMode);
  syncMode();

  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const form = h(
    "form",
    { novalidate: true, id: "time-form" },
    field("Synchronization", mode),
    ntsFields,
    serverFields,
    polls,
    customFields,
    field("Time zone", zone, "Time adjusts to daylight saving time and standard time by itself."),
    posixFields,
    area,
    h("div", { class: "actions" }, save),
  );
  const refresh = async () => {
    const [i, n] = await Promise.all([time("getDateTimeInfo"), ntp("getNTPInfo")]);
    base = { device: Date.parse(i.dateTime), local: i.localDateTime, at: Date.now() };
    showStatus(n.client);
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
    await busy(save, async () => {
      try {
        // Everything is checked before anything is sent.
        const m = mode.value;
        const config = { enabled: m !== "custom", NTSEnabled: m === "nts", minpoll: Number(minPoll.value), maxpoll: Number(maxPoll.value) };
        if (config.minpoll > config.maxpoll) throw invalid(minPoll, "The min NTP poll time must not be longer than the max.");
        if (m === "nts") {
          if (!ntsServers.values().length) throw invalid(ntsServers.element.querySelector("input") || mode, "Enter an NTS KE server.");
          Object.assign(config, { staticNTSKEServers: ntsServers.values(), NTSKEServerCACerts: caCerts.value.split(",").map((s) => s.trim()).filter(Boolean) });
        } else if (m !== "custom") {
          if (m === "manual" && !ntpServers.values().length) throw invalid(ntpServers.element.querySelector("input") || mode, "Enter an NTP server.");
          Object.assign(config, { serversSource: m === "dhcp" ? "DHCP" : "static", staticServers: ntpServers.values() });
        }
        if (zone.value === POSIX && !posix.value.trim()) throw invalid(posix, "Enter a POSIX time zone.");
        const setWall = m === "custom" && wallSetAt !== null;
        if (setWall && (!date.value || !clock.value)) throw invalid(date.value ? clock : date, "Enter a date and a time.");
        if (zone.value === POSIX) {
          if (posix.value.trim() !== info.posixTimeZone || dst.box.checked !== info.dstEnabled || info.timeZone) {
            await time("setPosixTimeZone", { posixTimeZone: posix.value.trim(), enableDst: dst.box.checked });
          }
        } else if (zone.value !== info.timeZone) {
          await time("setTimeZone", { timeZone: zone.value });
        }
        await ntp("setNTPClientConfiguration", config);
        info = await time("getAll");
        if (setWall) {
          // The wall time entered, in the device's zone, plus the time since it was entered.
          const [y, mo, d] = date.value.split("-").map(Number);
          const [hh, mi, ss = 0] = clock.value.split(":").map(Number);
          const utc = wallToUtc(Date.UTC(y, mo - 1, d, hh, mi, ss), info.timeZone || "", isoOffset(info.localDateTime)) + (Date.now() - wallSetAt);
          const stamp = new Date(utc);
          const text = `${stamp.getUTCFullYear()}-${pad(stamp.getUTCMonth() + 1)}-${pad(stamp.getUTCDate())}T${pad(stamp.getUTCHours())}:${pad(stamp.getUTCMinutes())}:${pad(stamp.getUTCSeconds())}Z`;
          await time("setDateTime", { dateTime: text });
          wallSetAt = null;
        }
        await refresh();
        say(area, "ok", "The date and time settings are saved.");
      } catch (error) {
        if (error.control) {
          error.control.setAttribute("aria-invalid", "true");
          error.control.focus();
          say(area, "error", error.message);
        } else app.fail(error, area);
      }
    });
  });
  const section = card("Date and time", h("p", { class: "muted", text: "We recommend you synchronize the device's date and time with an NTP server." }),
    statusLine, facts([["Device time", now]]), form);
  section.id = "time-card";
  return { section, tick, refresh };
}

// -- device location ------------------------------------------------------------------------------
const DIGITS = { DD: 0, DDMM: 2, DDMMSS: 4 };

/** A coordinate in DD, DDMM or DDMMSS as signed decimal degrees; NaN when it is none of them. */
export function degrees(text, longitude) {
  const m = /^([+-]?)(\d{1,7})(\.\d+)?$/.exec(text.trim());
  if (!m) return NaN;
  const width = longitude ? 3 : 2;
  const extra = m[2].length - width;
  const sign = m[1] === "-" ? -1 : 1;
  const number = Number(`${m[2]}${m[3] || ""}`);
  let value;
  if (extra <= 0) value = number;
  else if (extra === 2) value = Math.floor(number / 100) + (number % 100) / 60;
  else if (extra === 4) value = Math.floor(number / 10000) + Math.floor((number % 10000) / 100) / 60 + (number % 100) / 3600;
  else return NaN;
  return value > (longitude ? 180 : 90) ? NaN : sign * value;
}

/** Decimal degrees written in `format` (DD, DDMM or DDMMSS). */
export function written(value, format, longitude) {
  const width = longitude ? 3 : 2;
  const sign = value < 0 ? "-" : "";
  let rest = Math.abs(value);
  const deg = Math.floor(rest);
  if (format === "DD") return `${sign}${String(deg).padStart(width, "0")}.${rest.toFixed(6).split(".")[1]}`;
  rest = (rest - deg) * 60;
  if (format === "DDMM") return `${sign}${String(deg).padStart(width, "0")}${rest.toFixed(4).padStart(7, "0")}`;
  const min = Math.floor(rest);
  const sec = ((rest - min) * 60).toFixed(2).padStart(5, "0");
  return `${sign}${String(deg).padStart(width, "0")}${pad(min)}${sec}`;
}

function formatOf(text, longitude) {
  const m = /^[+-]?(\d+)/.exec(text.trim());
  const extra = m ? m[1].length - (longitude ? 3 : 2) : 0;
  return extra === 2 ? "DDMM" : extra === 4 ? "DDMMSS" : "DD";
}

async function geolocation(action, params) {
  const query = params ? `?${new URLSearchParams(params)}` : "";
  const source = await (await api.request(`/axis-cgi/geolocation/${action}.cgi${query}`)).text();
  const doc = new DOMParser().parseFromString(source, "application/xml");
  const error = doc.querySelector("ErrorDescription");
  if (error) throw new api.ApiError(error.textContent);
  return doc;
}

function locationCard(app, doc) {
  const text = (tag) => doc.querySelector(tag)?.textContent || "";
  const valid = text("ValidPosition") === "true";
  const area = messageArea();
  const format = h("select", { id: "location-format" }, Object.keys(DIGITS).map((f) => h("option", { value: f, text: { DD: "Degrees (DD)", DDMM: "Degrees and minutes (DDMM)", DDMMSS: "Degrees, minutes and seconds (DDMMSS)" }[f] })));
  format.value = valid ? formatOf(text("Lat"), false) : "DD";
  const lat = h("input", { value: valid ? text("Lat") : "", inputmode: "decimal", autocomplete: "off", spellcheck: "false" });
  const lng = h("input", { value: valid ? text("Lng") : "", inputmode: "decimal", autocomplete: "off", spellcheck: "false" });
  const heading = h("input", { type: "number", min: "0", max: "360", step: "1", value: text("ValidHeading") === "true" ? text("Heading") : "" });
  const label = h("input", { value: text("Text"), maxlength: "255", autocomplete: "off" });
  let shown = format.value;
  format.addEventListener("change", () => {
    // Convert what is entered to the new form, where it reads as a coordinate.
    for (const [input, longitude] of [[lat, false], [lng, true]]) {
      const value = degrees(input.value, longitude);
      if (input.value.trim() && !Number.isNaN(value)) input.value = written(value, format.value, longitude);
    }
    shown = format.value;
  });
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const form = h(
    "form",
    { novalidate: true, id: "location-form" },
    field("Format", format, "The form in which you enter the latitude and longitude."),
    h("div", { class: "row-fields" }, field("Latitude", lat, "Positive values are north of the equator."), field("Longitude", lng, "Positive values are east of the prime meridian.")),
    field("Heading", heading, "The compass direction the device faces. 0 is due north."),
    field("Label", label, "A descriptive name for the device."),
    area,
    h("div", { class: "actions" }, save),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const input of [lat, lng, heading]) input.removeAttribute("aria-invalid");
    const problem = [[lat, false, "latitude"], [lng, true, "longitude"]].find(([input, longitude]) =>
      input.value.trim() && (Number.isNaN(degrees(input.value, longitude)) || formatOf(input.value, longitude) !== shown));
    if (problem) {
      problem[0].setAttribute("aria-invalid", "true");
      problem[0].focus();
      say(area, "error", `Enter the ${problem[2]} in the ${shown} form, for example ${written(problem[1] ? 13.5 : 55.5, shown, problem[1])}.`);
      return;
    }
    await busy(save, async () => {
      try {
        await geolocation("set", { lat: lat.value.trim(), lng: lng.value.trim(), heading: heading.value.trim(), text: label.value });
        say(area, "ok", "The device location is saved.");
      } catch (error) {
        app.fail(error, area);
      }
    });
  });
  const section = card("Device location", h("p", { class: "muted", text: "Enter where the device is located. Your video management system can use this information to place the device on a map." }), form);
  section.id = "location-card";
  return section;
}

export default async function timePage(container, app) {
  const [info, status, position] = await Promise.all([time("getAll"), ntp("getNTPInfo"), geolocation("get")]);
  const dateTime = dateTimeCard(app, info, status.client);
  container.append(dateTime.section, locationCard(app, position));
  const ticker = setInterval(dateTime.tick, 1000);
  const poller = setInterval(() => dateTime.refresh().catch(() => {}), 5000);
  api.whenGone(container, () => {
    clearInterval(ticker);
    clearInterval(poller);
  });
}
