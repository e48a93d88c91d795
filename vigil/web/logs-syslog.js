// Logs > Remote system log: up to two syslog servers, their format, protocol, port, severity
// and type, the CA certificates a TLS server is verified against, a test of the settings before
// they are saved, and how delivery goes. Everything through remotesyslog.cgi (administrators).

import * as api from "./api.js";
import { busy, card, checkbox, clear, field, h, messageArea, numberInput, say, select } from "./ui.js";

const PATH = "/axis-cgi/remotesyslog.cgi";
const FORMATS = [
  ["AXIS", "Axis"],
  ["RFC3164", "RFC 3164"],
  ["RFC5424", "RFC 5424"],
];
const PROTOCOLS = [
  ["UDP", "UDP (default port 514)"],
  ["TCP", "TCP (default port 601)"],
  ["TLS", "TLS (default port 6514)"],
];
const SEVERITIES = ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"];
const TYPES = [
  ["All", "All logs"],
  ["Audit", "Audit log only"],
];
// The API page's default ports: by protocol, and for TCP by format.
const defaultPort = (protocol, format) => (protocol === "TLS" ? 6514 : protocol === "TCP" && format === "RFC5424" ? 601 : 514);
const STATES = { connected: "ok", connecting: "busy", down: "error" };

/** A call whose error keeps the API's details (which server, which property). */
async function call(method, params) {
  const body = { apiVersion: "1.0", context: "web", method };
  if (params) body.params = params;
  const response = await api.request(PATH, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const reply = await response.json();
  if (reply.error) {
    const all = [reply.error, ...(reply.error.errors || [])];
    const said = all.map((e) => {
      const where = [e.details?.address, e.details?.propertyName].filter(Boolean).join(", ");
      return where ? `${e.message} (${where})` : e.message;
    });
    throw new api.ApiError(`${said.join("; ")}.`);
  }
  return reply.data;
}

function serverFieldset(index, server, onRemove) {
  const host = h("input", { value: server.address || "", autocomplete: "off", spellcheck: "false", maxlength: "255" });
  const format = select({}, FORMATS);
  format.value = server.syslogFormat || "RFC5424";
  const protocol = select({}, PROTOCOLS);
  protocol.value = server.protocol || "TLS";
  const port = numberInput(server.port || defaultPort(protocol.value, format.value), 1, 65535);
  const severity = select({}, SEVERITIES.map((s) => [s, s]));
  severity.value = server.severity || "Warning";
  const type = select({}, TYPES);
  type.value = server.type || "All";
  let lastDefault = defaultPort(protocol.value, format.value);
  const follow = () => {
    // A port still at the old default follows the protocol and format.
    const next = defaultPort(protocol.value, format.value);
    if (!port.value || Number(port.value) === lastDefault) port.value = String(next);
    lastDefault = next;
  };
  protocol.addEventListener("change", follow);
  format.addEventListener("change", follow);
  const remove = h("button", { type: "button", class: "link" }, `Remove server ${index + 1}`);
  remove.addEventListener("click", onRemove);
  const legend = h("legend", { text: `Server ${index + 1}` });
  const element = h(
    "fieldset",
    { class: "syslog-server" },
    legend,
    field("Host", host, "The host name or IP address of the syslog server."),
    field("Format", format),
    field("Protocol", protocol),
    field("Port", port),
    field("Severity", severity, "This severity and the more severe ones are sent."),
    field("Type", type),
    remove,
  );
  return {
    element,
    protocol,
    renumber(n) {
      legend.textContent = `Server ${n + 1}`;
      remove.textContent = `Remove server ${n + 1}`;
    },
    value() {
      if (!host.value.trim()) {
        host.setAttribute("aria-invalid", "true");
        host.focus();
        throw new Error("Enter the host name or IP address of each server.");
      }
      host.removeAttribute("aria-invalid");
      return {
        address: host.value.trim(),
        port: Number(port.value || defaultPort(protocol.value, format.value)),
        protocol: protocol.value,
        syslogFormat: format.value,
        severity: severity.value,
        type: type.value,
      };
    },
  };
}

function deliveryText(d) {
  const where = d.address.includes(":") ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`;
  const state = { connected: "sending", connecting: "connecting", down: "not reachable" }[d.state] || d.state;
  const error = d.lastError ? ` Last error: ${d.lastError}.` : "";
  return `${where} (${d.protocol}): ${state}. ${d.sent} sent, ${d.dropped} dropped.${error}`;
}

export async function syslogCard(app) {
  const area = messageArea();
  const status = h("ul", { class: "plain", id: "syslog-delivery", "aria-live": "polite" });
  const list = h("div", { id: "syslog-servers" });
  const add = h("button", { type: "button" }, "Add server");
  const send = checkbox("Send the logs to the servers", false);
  const ca = h("input", { autocomplete: "off", spellcheck: "false", id: "syslog-ca" });
  const caField = field(
    "CA certificate set",
    ca,
    "IDs of installed CA certificates, separated by commas, that a TLS server must be signed by; empty uses the device's trusted CAs.",
  );
  const test = h("button", { type: "button" }, "Test server setup");
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const results = h("ul", { class: "plain", id: "syslog-test-results" });
  let rows = [];

  const syncRows = () => {
    rows.forEach((row, n) => row.renumber(n));
    add.hidden = rows.length >= 2;
    caField.hidden = !rows.some((row) => row.protocol.value === "TLS");
  };
  const addRow = (server) => {
    const row = serverFieldset(rows.length, server, () => {
      rows = rows.filter((r) => r !== row);
      row.element.remove();
      syncRows();
    });
    row.protocol.addEventListener("change", syncRows);
    rows.push(row);
    list.append(row.element);
    syncRows();
  };
  const showDelivery = (data) => {
    clear(
      status,
      data.delivery.length
        ? data.delivery.map((d) => h("li", {}, h("span", { class: `dot ${STATES[d.state] || ""}`, "aria-hidden": "true" }), ` ${deliveryText(d)}`))
        : h("li", { class: "muted", text: data.enabled ? "Starting…" : "Remote logging is off." }),
    );
  };
  const load = async () => {
    const data = await call("status");
    send.box.checked = data.enabled || !data.servers.length; // a first server is meant to be used
    ca.value = (data.caCertificates || []).join(", ");
    return data;
  };
  // While a server is being connected to, the status is asked again each second, a few times.
  let polls = 0;
  let timer = null;
  const settling = (data) => data.enabled && (!data.delivery.length || data.delivery.some((d) => d.state === "connecting"));
  const refresh = async (again = false) => {
    clearTimeout(timer);
    polls = again ? polls + 1 : 0;
    try {
      const data = await call("status");
      showDelivery(data);
      if (settling(data) && polls < 15) timer = setTimeout(() => refresh(true), 1000);
    } catch (error) {
      app.fail(error, area);
    }
  };
  const settings = () => {
    const params = { servers: rows.map((row) => row.value()) };
    params.caCertificates = ca.value.split(",").map((s) => s.trim()).filter(Boolean);
    return params;
  };

  add.addEventListener("click", () => addRow({}));
  test.addEventListener("click", () =>
    busy(test, async () => {
      let params;
      try {
        params = settings();
        if (!params.servers.length) throw new Error("Add a server to test.");
      } catch (error) {
        say(area, "error", error.message);
        return;
      }
      say(area, "info", "Sending test messages…");
      try {
        const data = await call("test", params);
        clear(
          results,
          data.results.map((r) =>
            h("li", { text: `${r.address}:${r.port} (${r.protocol}): ${r.result === "sent" ? `${r.messages} test messages sent` : r.message}` }),
          ),
        );
        const failed = data.results.filter((r) => r.result !== "sent").length;
        say(area, failed ? "error" : "ok", failed ? "A server could not be reached." : "The test messages were sent.");
      } catch (error) {
        app.fail(error, area);
      }
    }),
  );
  const form = h(
    "form",
    { novalidate: true, id: "syslog-form" },
    list,
    h("div", { class: "actions" }, add),
    caField,
    send.element,
    area,
    results,
    h("div", { class: "actions" }, test, save),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(save, async () => {
      let params;
      try {
        params = settings();
      } catch (error) {
        say(area, "error", error.message);
        return;
      }
      try {
        let data = await call("setup", params);
        if (data.enabled && !send.box.checked) data = await call("disable");
        send.box.checked = data.enabled;
        say(area, "ok", data.servers.length ? "The remote system log settings are saved." : "No server: remote logging is off.");
      } catch (error) {
        app.fail(error, area);
        return;
      }
      await refresh();
    });
  });

  const data = await load();
  data.servers.forEach(addRow);
  if (!data.servers.length) addRow({});
  showDelivery(data);
  if (settling(data)) timer = setTimeout(() => refresh(true), 1000);
  const update = h("button", { type: "button" }, "Refresh status");
  update.addEventListener("click", () => busy(update, () => refresh()));
  const element = card(
    "Remote system log",
    h("p", {
      class: "muted",
      text:
        "Send the logs to up to two syslog servers. Nothing is kept for a server that cannot be reached: " +
        "its messages are dropped, and counted below.",
    }),
    form,
    h("h3", { text: "Delivery" }),
    status,
    h("div", { class: "actions" }, update),
  );
  element.id = "remote-syslog";
  api.whenGone(element, () => clearTimeout(timer));
  return element;
}
