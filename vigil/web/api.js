// The device's public API, as the web pages use it. Nothing here is private to the pages:
// every call is one an integrator could make. Calls are same-origin, so the session cookie
// goes along; `X-Requested-With` keeps a 401 from opening the browser's own login dialog.

export class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

const HEADERS = { "X-Requested-With": "vigil" };

/** fetch with our header; a 401 or 403 becomes an ApiError unless `allow` lists it. */
export async function request(url, { method = "GET", body, headers = {}, allow = [] } = {}) {
  let response;
  try {
    response = await fetch(url, {
      method,
      body,
      headers: { ...HEADERS, ...headers },
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError("The device did not answer. Check the connection and try again.", 0);
  }
  if (!allow.includes(response.status)) {
    if (response.status === 401) {
      throw new ApiError("You are not logged in, or your session has ended.", 401);
    }
    if (response.status === 403) {
      const reason = (await response.text()).trim();
      throw new ApiError(reason || "This account may not do that.", 403);
    }
    if (response.status >= 400) {
      throw new ApiError(`The device answered ${response.status} ${response.statusText}.`, response.status);
    }
  }
  return response;
}

/** The text of an HTML reply such as `<html><body>Created account x.</body></html>`. */
export function htmlText(source) {
  const doc = new DOMParser().parseFromString(source, "text/html");
  return (doc.body ? doc.body.textContent : source).trim();
}

function form(pairs) {
  const body = new URLSearchParams();
  for (const [key, value] of pairs) body.append(key, value);
  return body;
}

// -- the browser session ------------------------------------------------------------
export async function getSession() {
  return (await request("/vigil/session")).json();
}

export async function login(username, password) {
  const response = await request("/vigil/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
    allow: [400, 401],
  });
  const body = await response.json();
  if (!response.ok) throw new ApiError(body.error?.message || "Login failed.", response.status);
  return body;
}

export async function logout() {
  await request("/vigil/session", { method: "DELETE", allow: [401] });
}

// -- JSON-RPC style CGIs (basicdeviceinfo.cgi, time.cgi) ------------------------------
export async function jsonApi(path, apiVersion, method, params) {
  const call = { apiVersion, context: "web", method };
  if (params) call.params = params;
  const response = await request(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(call),
  });
  const body = await response.json();
  if (body.error) throw new ApiError(`${body.error.message} (error ${body.error.code})`);
  return body.data;
}

export const deviceInfo = () => jsonApi("/axis-cgi/basicdeviceinfo.cgi", "1.3", "getAllProperties");
export const publicDeviceInfo = () =>
  jsonApi("/axis-cgi/basicdeviceinfo.cgi", "1.3", "getAllUnrestrictedProperties");
export const timeInfo = () => jsonApi("/axis-cgi/time.cgi", "1.0", "getDateTimeInfo");

// -- Device Configuration APIs (/config/rest/...) --------------------------------------
/** One call: its `data`, or an ApiError with the device's message (`{"status": "error", ...}`). */
export async function rest(path, method = "GET", data = undefined) {
  const send = data !== undefined;
  const response = await request(path, {
    method,
    body: send ? JSON.stringify({ data }) : undefined,
    headers: send ? { "Content-Type": "application/json" } : {},
    allow: [400, 404, 409, 413, 502],
  });
  const reply = await response.json();
  if (reply.status !== "success") {
    throw new ApiError(reply.error?.message || `The device answered ${response.status}.`, response.status);
  }
  return reply.data;
}

// -- param.cgi --------------------------------------------------------------------------
/** Values of the named groups or parameters that this account may read, keyed without `root.`. */
export async function listParams(groups) {
  const query = new URLSearchParams({ action: "list" });
  if (groups && groups.length) query.set("group", groups.join(","));
  const source = await (await request(`/axis-cgi/param.cgi?${query}`)).text();
  const values = {};
  for (const line of source.split(/\r?\n/)) {
    if (!line.startsWith("root.")) continue; // "# Error: ..." lines name what we may not read
    const at = line.indexOf("=");
    if (at > 0) values[line.slice(5, at)] = line.slice(at + 1);
  }
  return values;
}

/** Write parameters in one request; all are applied or none. Throws the device's "# Error:" text.
 * A change of where the device listens (a port, HTTPS, "allow access through") takes the
 * browser to the same page at the origin the device names. */
export async function updateParams(values) {
  const entries = Object.entries(values);
  const response = await request("/axis-cgi/param.cgi", {
    method: "POST",
    body: form([["action", "update"], ...entries]),
  });
  const reply = (await response.text()).trim();
  if (reply !== "OK") throw new ApiError(reply.replace(/^#\s*/, ""));
  followOrigin(response);
}

/** The device answers a request that changed where this client gets in with the new origin
 * (`X-Vigil-Origin`, see vigil/http/ports.py): go on there, on the same page. */
export function followOrigin(response) {
  const origin = response.headers.get("X-Vigil-Origin");
  if (origin && origin !== location.origin) {
    location.assign(origin + location.pathname + location.search + location.hash);
  }
}

/** The parameter tree with types (`listdefinitions`, `listformat=xmlschema`). */
export async function paramDefinitions() {
  const query = new URLSearchParams({ action: "listdefinitions", listformat: "xmlschema" });
  const source = await (await request(`/axis-cgi/param.cgi?${query}`)).text();
  return parseDefinitions(source);
}

// Security levels are four digits: create, delete, read, write. 7 means nobody.
const LEVEL = { anonymous: 0, viewer: 1, operator: 4, admin: 6 };

export function canWrite(definition, role) {
  if (definition.readonly) return false;
  const digit = Number(definition.securityLevel.charAt(3));
  return digit !== 7 && digit <= (LEVEL[role] ?? 0);
}

export function parseDefinitions(source) {
  const doc = new DOMParser().parseFromString(source, "application/xml");
  if (doc.getElementsByTagName("parsererror").length) {
    throw new ApiError("The parameter definitions could not be read.");
  }
  const params = [];
  const walk = (element, path) => {
    for (const child of element.children) {
      if (child.localName === "group") {
        const name = child.getAttribute("name");
        walk(child, path ? `${path}.${name}` : name);
      } else if (child.localName === "parameter") {
        params.push(parseParameter(child, path));
      }
    }
  };
  walk(doc.documentElement, "");
  return params;
}

function parseParameter(element, group) {
  const name = element.getAttribute("name");
  const type = [...element.children].find((c) => c.localName === "type");
  const kinds = type ? [...type.children] : [];
  const base = kinds[0];
  const definition = {
    name: `${group}.${name}`,
    group,
    leaf: name,
    nice: element.getAttribute("niceName") || name,
    value: element.getAttribute("value") ?? "",
    securityLevel: element.getAttribute("securityLevel") || "7777",
    readonly: type?.getAttribute("readonly") === "true",
    kind: "string",
  };
  if (!base) return definition;
  const number = (attr) => (base.hasAttribute(attr) ? Number(base.getAttribute(attr)) : null);
  switch (base.localName) {
    case "int":
      Object.assign(definition, { kind: "int", min: number("min"), max: number("max") });
      break;
    case "bool":
      Object.assign(definition, {
        kind: "bool",
        choices: [base.getAttribute("true") || "yes", base.getAttribute("false") || "no"],
      });
      break;
    case "enum":
      Object.assign(definition, {
        kind: "enum",
        choices: [...base.children].filter((e) => e.localName === "entry").map((e) => e.getAttribute("value")),
      });
      break;
    default:
      definition.maxlen = number("maxlen");
      if (kinds.some((k) => k.localName === "password")) definition.kind = "password";
  }
  return definition;
}

// -- pwdgrp.cgi -------------------------------------------------------------------------
/** Accounts as {name, role: admin|operator|viewer, ptz}, from `action=get`. */
export async function listAccounts() {
  const source = await (await request("/axis-cgi/pwdgrp.cgi?action=get")).text();
  const groups = {};
  for (const match of source.matchAll(/^(\w+)="([^"]*)"/gm)) {
    groups[match[1]] = match[2] ? match[2].split(",") : [];
  }
  const has = (group, name) => (groups[group] || []).includes(name);
  return (groups.digusers || []).map((name) => ({
    name,
    role: has("admin", name) ? "admin" : has("operator", name) ? "operator" : "viewer",
    ptz: has("ptz", name),
  }));
}

/** The secondary groups of a role, as pwdgrp.cgi wants them. */
export function secondaryGroups(role, ptz) {
  const groups = { admin: ["admin", "operator", "viewer"], operator: ["operator", "viewer"], viewer: ["viewer"] }[
    role
  ];
  return [...groups, ...(ptz ? ["ptz"] : [])].join(":");
}

/** One pwdgrp.cgi action; returns the device's message or throws its error text. */
export async function pwdgrp(fields) {
  const response = await request("/axis-cgi/pwdgrp.cgi", {
    method: "POST",
    body: form(Object.entries(fields)),
    allow: [401],
  });
  const reply = htmlText(await response.text());
  if (!response.ok || reply.startsWith("Error")) throw new ApiError(reply || "The device refused.", response.status);
  return reply;
}

// -- logs, reports, maintenance ------------------------------------------------------------
export async function logText(kind, filter) {
  const query = filter ? `?${new URLSearchParams({ text: filter })}` : "";
  const reply = await (await request(`/axis-cgi/${kind}log.cgi${query}`)).text();
  if (reply.startsWith("Error:")) throw new ApiError(reply.trim());
  return reply;
}

export async function serverReportText() {
  return (await request("/axis-cgi/serverreport.cgi?mode=text")).text();
}

/** The server report zip as {blob, filename}. */
export async function serverReportZip() {
  const response = await request("/axis-cgi/serverreport.cgi?mode=zip");
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = disposition.match(/filename="?([^";]+)"?/);
  return { blob: await response.blob(), filename: match ? match[1] : "serverreport.zip" };
}

/** restart.cgi, factorydefault.cgi or hardfactorydefault.cgi. */
export async function maintenance(cgi) {
  const response = await request(`/axis-cgi/${cgi}`, { method: "POST" });
  return htmlText(await response.text());
}

export async function recentClients() {
  return (await (await request("/vigil/clients")).json()).clients;
}

// -- the VAPIX event stream over WebSocket ------------------------------------------------------
/**
 * Live events: a one-time token from wssession.cgi, then ws(s)://host/vapix/ws-data-stream
 * with `events:configure`. `onEvent({topic, source, data, timestamp})` gets the current state of
 * every matching property first, then each change. `onStatus("open" | "closed" | "failed")`
 * tells the page whether it is live. The stream reconnects until `close()` is called.
 */
export function eventStream(topicFilters, { onEvent, onStatus = () => {} }) {
  let socket = null;
  let closed = false;
  let timer = null;
  let delay = 1000;
  const again = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, 15000);
  };
  async function connect() {
    if (closed) return;
    let token;
    try {
      token = (await (await request("/axis-cgi/wssession.cgi")).text()).trim();
    } catch (error) {
      onStatus("failed", error);
      again();
      return;
    }
    if (closed) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = new URLSearchParams({ sources: "events", wssession: token });
    try {
      socket = new WebSocket(`${scheme}://${location.host}/vapix/ws-data-stream?${query}`);
    } catch (error) {
      onStatus("failed", error);
      again();
      return;
    }
    socket.addEventListener("open", () => {
      socket.send(
        JSON.stringify({
          apiVersion: "1.0",
          context: "web",
          method: "events:configure",
          params: { eventFilterList: topicFilters.map((topicFilter) => ({ topicFilter })) },
        }),
      );
    });
    socket.addEventListener("message", (message) => {
      let body;
      try {
        body = JSON.parse(message.data);
      } catch {
        return;
      }
      if (body.method === "events:notify") {
        const n = body.params?.notification || {};
        onEvent({ topic: n.topic, timestamp: n.timestamp, source: n.message?.source || {}, data: n.message?.data || {} });
      } else if (body.error) {
        onStatus("failed", new ApiError(`${body.error.message} (error ${body.error.code})`));
      } else {
        delay = 1000;
        onStatus("open");
      }
    });
    socket.addEventListener("close", () => {
      socket = null;
      if (closed) return;
      onStatus("closed");
      again();
    });
  }
  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (socket) socket.close();
    },
  };
}

/** Run `stop` once `element` has left the page (the router replaces the page on navigation). */
export function whenGone(element, stop) {
  const timer = setInterval(() => {
    if (!element.isConnected) {
      clearInterval(timer);
      stop();
    }
  }, 1000);
}

// -- Device Configuration APIs (/config/rest/...) -------------------------------------
/** A Device Configuration API call: GET without `data`, else PATCH (or `method`: POST adds,
 * DELETE removes); its `data`, or an ApiError with the API's message. */
export async function configRest(path, data, method) {
  const sending = data !== undefined;
  const response = await request(path, {
    method: method || (sending ? "PATCH" : "GET"),
    headers: sending ? { "Content-Type": "application/json" } : {},
    body: sending ? JSON.stringify({ data }) : undefined,
    allow: [400, 404, 409],
  });
  const body = await response.json();
  if (body.status !== "success") throw new ApiError(body.error?.message || "The device refused it.", response.status);
  return body.data;
}

/** Whether the login page offers an OpenID provider: {offered, login}. */
export async function oidcState() {
  return (await request("/vigil/oidc")).json();
}
