// MQTT: the device as an MQTT client (client.cgi), what it publishes of its events and what
// it subscribes to (event.cgi), and the ONVIF event broker (Profile M) that uses the same client
// (GetEventBrokers / DeleteEventBroker at /onvif/events_service). Administrators only, as the APIs are.

import * as api from "./api.js";
import * as soap from "./soap.js";
import { busy, card, checkbox, clear, facts, field, h, localTime, messageArea, numberInput, say } from "./ui.js";

const client = (method, params) => api.jsonApi("/axis-cgi/mqtt/client.cgi", "1.0", method, params);
const bridge = (method, params) => api.jsonApi("/axis-cgi/mqtt/event.cgi", "1.2", method, params);

const PROTOCOLS = [
  ["tcp", "MQTT over TCP", 1883],
  ["ssl", "MQTT over SSL", 8883],
  ["ws", "MQTT over WebSocket", 80],
  ["wss", "MQTT over WebSocket Secure", 443],
];
const DEFAULT_PORT = Object.fromEntries(PROTOCOLS.map(([p, , port]) => [p, port]));
const REASONS = {
  dns: "the broker's host name could not be resolved",
  refused: "the broker refused the connection",
  timeout: "the connection timed out",
  auth: "the broker refused the username or password",
  tls: "the TLS handshake failed",
  websocket: "the WebSocket upgrade failed",
  proxy: "the proxy failed",
  network: "a network error",
  broker: "the broker refused the client",
  config: "the settings are incomplete",
  lost: "the connection was lost",
};

function qosSelect(value, label) {
  const select = h("select", { "aria-label": label }, [0, 1, 2].map((q) => h("option", { value: String(q), text: String(q) })));
  select.value = String(value ?? 0);
  return select;
}

// -- the client: status and broker settings ---------------------------------------------------
function statusText(status, config) {
  const where = config?.server?.host ? `${config.server.host}:${config.server.port}` : "the broker";
  const state = status.connectionState || status.connectionStatus;
  const failure = status.failure || null;
  let why = failure ? failure.message || REASONS[failure.reason] || failure.reason || "" : "";
  if (why && !/[.!?]$/.test(why)) why += ".";
  if (status.state !== "active") return { kind: "off", text: "Disconnected. The MQTT client is turned off." };
  if (state === "connected") {
    const since = status.connectedSince ? ` since ${localTime(status.connectedSince)}` : "";
    return { kind: "ok", text: `Connected to ${where}${since}.` };
  }
  if (state === "connecting") return { kind: "busy", text: `Connecting to ${where}…` };
  const retry = status.retryIn !== undefined ? ` Trying again in ${Math.ceil(status.retryIn)} s.` : "";
  const reason = why ? ` ${why}` : "";
  if (state === "failed") return { kind: "error", text: `Failed to connect to ${where}:${reason || " no reason given."}${retry}` };
  return { kind: "error", text: `Disconnected from ${where}.${reason}${retry}` };
}

function messageFieldset(legend, message, defaultTopic) {
  const on = message !== undefined && message !== null;
  const send = checkbox("Send message", on);
  const useDefault = checkbox("Use default", !on || message.useDefault !== false, `Default topic: ${defaultTopic}`);
  const topic = h("input", { value: on && !message.useDefault ? message.topic || "" : "", autocomplete: "off", spellcheck: "false" });
  const payload = h("textarea", { rows: "2", spellcheck: "false" });
  payload.value = on && !message.useDefault ? message.message || "" : "";
  const retain = checkbox("Retain", on ? message.retain !== false : true);
  const qos = qosSelect(on ? message.qos ?? 1 : 1, `QoS of the ${legend.toLowerCase()}`);
  const own = h("div", { class: "sub-fields" }, field("Topic", topic), field("Payload", payload), retain.element, field("QoS", qos));
  const sync = () => {
    useDefault.element.hidden = !send.box.checked;
    own.hidden = !send.box.checked || useDefault.box.checked;
  };
  send.box.addEventListener("change", sync);
  useDefault.box.addEventListener("change", sync);
  sync();
  const element = h("fieldset", {}, h("legend", { text: legend }), send.element, useDefault.element, own);
  return {
    element,
    value() {
      if (!send.box.checked) return null;
      if (useDefault.box.checked) return { useDefault: true };
      return { useDefault: false, topic: topic.value.trim(), message: payload.value, retain: retain.box.checked, qos: Number(qos.value) };
    },
  };
}

function clientCards(app, state) {
  const statusArea = h("p", { class: "mqtt-status", id: "mqtt-status", role: "status", "aria-live": "polite" });
  const stats = h("p", { class: "muted", id: "mqtt-stats" });
  const connect = h("button", { type: "button", class: "primary", id: "mqtt-connect" }, "Connect");
  const statusMessage = messageArea();

  const showStatus = (status) => {
    state.status = status;
    const { kind, text } = statusText(status, state.config);
    clear(statusArea, h("span", { class: `dot ${kind}`, "aria-hidden": "true" }), text);
    statusArea.dataset.state = status.state === "active" ? status.connectionState || "" : "off";
    const active = status.state === "active";
    connect.textContent = active ? "Disconnect" : "Connect";
    connect.className = active ? "" : "primary";
    const s = status.statistics || {};
    stats.textContent = `Published ${s.published ?? 0}, received ${s.received ?? 0}, dropped ${s.dropped ?? 0}, connection attempts ${s.connectAttempts ?? 0}.`;
  };
  const poll = async () => {
    try {
      const data = await client("getClientStatus");
      state.config = state.config || data.config;
      showStatus(data.status);
    } catch (error) {
      app.fail(error, statusMessage);
    }
  };
  connect.addEventListener("click", () =>
    busy(connect, async () => {
      const active = state.status?.state === "active";
      try {
        await client(active ? "deactivateClient" : "activateClient");
        say(statusMessage, "", "");
      } catch (error) {
        app.fail(error, statusMessage);
      }
      await poll();
    }),
  );
  const statusCard = card("MQTT client", statusArea, stats, statusMessage, h("div", { class: "actions" }, connect));
  statusCard.id = "mqtt-client";

  // The broker form.
  const c = state.config;
  const host = h("input", { value: c.server.host, autocomplete: "off", spellcheck: "false", maxlength: "255" });
  const protocol = h("select", {}, PROTOCOLS.map(([value, label]) => h("option", { value, text: label })));
  protocol.value = c.server.protocol;
  const port = numberInput(c.server.port, 1, 65535);
  const alpn = h("input", { value: c.server.alpnProtocol || "", autocomplete: "off", spellcheck: "false", maxlength: "255" });
  const basepath = h("input", { value: c.server.basepath || "", autocomplete: "off", spellcheck: "false" });
  const validate = checkbox("Validate server certificate", c.ssl?.validateServerCert !== false);
  const caCert = h("input", { value: c.ssl?.CACertID || "", autocomplete: "off", spellcheck: "false" });
  const clientCert = h("input", { value: c.ssl?.clientCertID || "", autocomplete: "off", spellcheck: "false" });
  const username = h("input", { value: c.username || "", autocomplete: "off", spellcheck: "false", maxlength: "255" });
  let hasPassword = Boolean(c.password);
  const password = h("input", { type: "password", autocomplete: "new-password", placeholder: hasPassword ? "Unchanged" : "", maxlength: "255" });
  const clearPassword = checkbox("Remove the stored password", false);
  clearPassword.element.hidden = !hasPassword;
  const clientId = h("input", { value: c.clientId || "", autocomplete: "off", spellcheck: "false", maxlength: "255" });
  const clean = checkbox("Clean session", c.cleanSession, "Discard the session state when connecting and disconnecting.");
  const httpProxy = h("input", { value: c.httpProxy || "", autocomplete: "off", spellcheck: "false", placeholder: "http://proxy.example:3128" });
  const httpsProxy = h("input", { value: c.httpsProxy || "", autocomplete: "off", spellcheck: "false", placeholder: "http://proxy.example:3128" });
  const keepAlive = numberInput(c.keepAliveInterval, 0, 65535);
  const timeout = numberInput(c.connectTimeout, 1, 3600);
  const prefix = h("input", { value: c.deviceTopicPrefix || "", autocomplete: "off", spellcheck: "false" });
  const reconnect = checkbox("Reconnect automatically", c.autoReconnect);
  const defaultTopic = `${c.deviceTopicPrefix}/event/connection`;
  const connectMessage = messageFieldset("Connect message", c.connectMessage, defaultTopic);
  const lwt = messageFieldset("Last Will and Testament message", c.lastWillTestament, defaultTopic);
  const disconnectMessage = messageFieldset("Disconnect message", c.disconnectMessage, defaultTopic);

  const tlsFields = h(
    "div",
    { class: "sub-fields" },
    field("ALPN protocol", alpn, "The ALPN protocol name your broker provider gives, if any."),
    validate.element,
    field("CA certificate", caCert, "The ID of an installed CA certificate; empty uses the device's trusted CAs."),
    field("Client certificate", clientCert, "The ID of an installed client certificate, if the broker wants one."),
  );
  const wsFields = field("Base path", basepath, "The WebSocket path on the broker, for example /mqtt.");
  const syncProtocol = () => {
    const p = protocol.value;
    tlsFields.hidden = !(p === "ssl" || p === "wss");
    wsFields.hidden = !(p === "ws" || p === "wss");
  };
  let lastProtocol = protocol.value;
  protocol.addEventListener("change", () => {
    // A port still at the old protocol's default follows the new protocol.
    if (Number(port.value) === DEFAULT_PORT[lastProtocol] || !port.value) port.value = String(DEFAULT_PORT[protocol.value]);
    lastProtocol = protocol.value;
    syncProtocol();
  });
  syncProtocol();

  const formArea = messageArea();
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const form = h(
    "form",
    { novalidate: true, id: "mqtt-broker-form", class: "columns" },
    h(
      "div",
      {},
      field("Host", host, "The host name or IP address of the MQTT broker."),
      field("Protocol", protocol),
      field("Port", port, "1883 for TCP, 8883 for SSL, 80 for WebSocket, 443 for WebSocket Secure."),
      wsFields,
      tlsFields,
      field("Username", username),
      field("Password", password, hasPassword ? "A password is stored. Leave empty to keep it." : null),
      clearPassword.element,
      field("Client ID", clientId, "Sent to the broker when the client connects."),
      clean.element,
      field("HTTP proxy", httpProxy),
      field("HTTPS proxy", httpsProxy),
      field("Keep alive interval (s)", keepAlive),
      field("Timeout (s)", timeout, "How long a connection attempt may take."),
      field("Device topic prefix", prefix, "Used in the default connect and LWT topics and for publication."),
      reconnect.element,
    ),
    h("div", {}, connectMessage.element, lwt.element, disconnectMessage.element),
    h("div", { class: "form-footer" }, formArea, h("div", { class: "actions" }, save)),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!host.value.trim()) {
      host.setAttribute("aria-invalid", "true");
      host.focus();
      say(formArea, "error", "Enter the broker's host name or IP address.");
      return;
    }
    host.removeAttribute("aria-invalid");
    const params = {
      server: {
        protocol: protocol.value,
        host: host.value.trim(),
        port: Number(port.value || DEFAULT_PORT[protocol.value]),
        basepath: basepath.value.trim(),
        alpnProtocol: alpn.value.trim(),
      },
      httpProxy: httpProxy.value.trim(),
      httpsProxy: httpsProxy.value.trim(),
      username: username.value,
      clientId: clientId.value,
      keepAliveInterval: Number(keepAlive.value || 0),
      connectTimeout: Number(timeout.value || 60),
      cleanSession: clean.box.checked,
      autoReconnect: reconnect.box.checked,
      deviceTopicPrefix: prefix.value.trim(),
      lastWillTestament: lwt.value(),
      connectMessage: connectMessage.value(),
      disconnectMessage: disconnectMessage.value(),
      ssl: { validateServerCert: validate.box.checked, CACertID: caCert.value.trim(), clientCertID: clientCert.value.trim() },
    };
    if (password.value) params.password = password.value;
    else if (clearPassword.box.checked) params.password = "";
    else params.keepExistingPassword = true;
    await busy(save, async () => {
      try {
        await client("configureClient", params);
      } catch (error) {
        app.fail(error, formArea);
        return;
      }
      say(formArea, "ok", "The MQTT client settings are saved.");
      const stored = Boolean(password.value) || (hasPassword && !clearPassword.box.checked);
      password.value = "";
      password.placeholder = stored ? "Unchanged" : "";
      clearPassword.box.checked = false;
      clearPassword.element.hidden = !stored;
      hasPassword = stored;
      const data = await client("getClientStatus").catch(() => null);
      if (data) {
        state.config = data.config;
        showStatus(data.status);
      }
    });
  });
  const brokerCard = card("Broker", form);
  return { statusCard, brokerCard, showStatus, poll };
}

// -- publication ----------------------------------------------------------------------------------
function publicationCard(app, publication, topics) {
  const area = messageArea();
  const useDefault = checkbox("Use default topic prefix", publication.topicPrefix !== "custom", "The device topic prefix of the MQTT client, followed by /event.");
  const custom = h("input", { value: publication.customTopicPrefix || "", autocomplete: "off", spellcheck: "false" });
  const customField = field("Custom topic prefix", custom);
  const syncPrefix = () => (customField.hidden = useDefault.box.checked);
  useDefault.box.addEventListener("change", syncPrefix);
  syncPrefix();
  const appendTopic = checkbox("Include topic name", publication.appendEventTopic, "Append the event's topic to the MQTT topic.");
  const namespaces = checkbox("Include topic namespaces", publication.includeTopicNamespaces, "Keep onvif: and axis: in the MQTT topic.");
  const serial = checkbox("Include serial number", publication.includeSerialNumberInPayload, "Add the serial number to the payload.");

  const choices = [["//.", "All conditions"], ...topics.map((t) => [soap.shortTopic(t.topic), `${t.group}: ${t.nice}`])];
  const rows = h("tbody");
  const addRow = (filter) => {
    const n = rows.children.length + 1;
    const condition = h("select", { "aria-label": `Condition ${n}` }, choices.map(([value, label]) => h("option", { value, text: label })));
    if (!choices.some(([value]) => value === filter.topicFilter)) condition.prepend(h("option", { value: filter.topicFilter, text: filter.topicFilter }));
    condition.value = filter.topicFilter;
    const retain = h(
      "select",
      { "aria-label": `Retain of condition ${n}` },
      [["none", "None"], ["property", "Property"], ["all", "All"]].map(([value, label]) => h("option", { value, text: label })),
    );
    retain.value = filter.retain || "none";
    const qos = qosSelect(filter.qos, `QoS of condition ${n}`);
    const remove = h("button", { type: "button", class: "danger-text", "aria-label": `Remove condition ${n}` }, "Remove");
    const tr = h("tr", {}, h("td", {}, condition), h("td", {}, retain), h("td", {}, qos), h("td", { class: "row-actions" }, remove));
    tr.read = () => ({ topicFilter: condition.value, retain: retain.value, qos: Number(qos.value) });
    remove.addEventListener("click", () => {
      tr.remove();
      syncEmpty();
    });
    rows.append(tr);
    syncEmpty();
    condition.focus();
  };
  const empty = h("p", { class: "muted", text: "No conditions: no events are published." });
  const syncEmpty = () => {
    empty.hidden = rows.children.length > 0;
    rows.closest("table")?.toggleAttribute("hidden", rows.children.length === 0);
  };
  const add = h("button", { type: "button" }, "+ Add condition");
  add.addEventListener("click", () => addRow({ topicFilter: choices[1]?.[0] || "//.", retain: "none", qos: 0 }));
  const save = h("button", { type: "button", class: "primary" }, "Save");
  save.addEventListener("click", () =>
    busy(save, async () => {
      const params = {
        topicPrefix: useDefault.box.checked ? "default" : "custom",
        customTopicPrefix: custom.value.trim(),
        appendEventTopic: appendTopic.box.checked,
        includeTopicNamespaces: namespaces.box.checked,
        includeSerialNumberInPayload: serial.box.checked,
        eventFilterList: [...rows.children].map((tr) => tr.read()),
      };
      try {
        await bridge("configureEventPublication", params);
        say(area, "ok", "The event publication settings are saved.");
      } catch (error) {
        app.fail(error, area);
      }
    }),
  );
  for (const filter of publication.eventFilterList || []) addRow(filter);
  const section = card(
    "MQTT publication",
    h("p", { class: "muted", text: "Events that match a condition are published to the broker while the client is connected." }),
    useDefault.element,
    customField,
    appendTopic.element,
    namespaces.element,
    serial.element,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { id: "mqtt-publication" },
        h("caption", { class: "visually-hidden", text: "Published conditions" }),
        h("thead", {}, h("tr", {}, ["Condition", "Retain", "QoS", ""].map((t) => h("th", { scope: "col", text: t })))),
        rows,
      ),
    ),
    empty,
    h("div", { class: "actions" }, add),
    area,
    h("div", { class: "actions" }, save),
  );
  syncEmpty();
  section.id = "mqtt-publication-card";
  return section;
}

// -- subscriptions -------------------------------------------------------------------------------
function subscriptionCard(app, subscriptions, status) {
  const area = messageArea();
  const rows = h("tbody");
  const addRow = (sub) => {
    const n = rows.children.length + 1;
    const filter = h("input", { value: sub.topicFilter, "aria-label": `Subscription filter ${n}`, autocomplete: "off", spellcheck: "false" });
    const prefix = h("input", { type: "checkbox", "aria-label": `Use device topic prefix for subscription ${n}` });
    prefix.checked = Boolean(sub.useDeviceTopicPrefix);
    const kind = h(
      "select",
      { "aria-label": `Subscription type ${n}` },
      h("option", { value: "stateless", text: "Stateless" }),
      h("option", { value: "stateful", text: "Stateful" }),
    );
    kind.value = sub.isStateData ? "stateful" : "stateless";
    const qos = qosSelect(sub.qos, `QoS of subscription ${n}`);
    const remove = h("button", { type: "button", class: "danger-text", "aria-label": `Remove subscription ${n}` }, "Remove");
    const error = status?.subscriptionErrors?.[sub.topicFilter];
    const tr = h(
      "tr",
      {},
      h("td", {}, filter, error ? h("span", { class: "hint error-text", text: error }) : null),
      h("td", { class: "center" }, prefix),
      h("td", {}, kind),
      h("td", {}, qos),
      h("td", { class: "row-actions" }, remove),
    );
    tr.read = () => ({ topicFilter: filter.value.trim(), useDeviceTopicPrefix: prefix.checked, isStateData: kind.value === "stateful", qos: Number(qos.value) });
    remove.addEventListener("click", () => {
      tr.remove();
      syncEmpty();
    });
    rows.append(tr);
    syncEmpty();
    return filter;
  };
  const empty = h("p", { class: "muted", text: "No subscriptions." });
  const syncEmpty = () => {
    empty.hidden = rows.children.length > 0;
    rows.closest("table")?.toggleAttribute("hidden", rows.children.length === 0);
  };
  const add = h("button", { type: "button" }, "+ Add subscription");
  add.addEventListener("click", () => addRow({ topicFilter: "", useDeviceTopicPrefix: false, isStateData: false, qos: 0 }).focus());
  const save = h("button", { type: "button", class: "primary" }, "Save");
  save.addEventListener("click", () =>
    busy(save, async () => {
      const list = [...rows.children].map((tr) => tr.read());
      const empty = list.findIndex((s) => !s.topicFilter);
      if (empty >= 0) {
        say(area, "error", `Enter a filter for subscription ${empty + 1}.`);
        rows.children[empty].querySelector("input").focus();
        return;
      }
      try {
        await bridge("configureMqttSubscription", { mqttFilterList: list });
        say(area, "ok", "The subscriptions are saved. Received messages become MQTT events for rules.");
      } catch (error) {
        app.fail(error, area);
      }
    }),
  );
  for (const sub of subscriptions) addRow(sub);
  const section = card(
    "MQTT subscriptions",
    h("p", {
      class: "muted",
      text: "Messages on these topics become events: stateless messages, or stateful conditions whose state is the payload.",
    }),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { id: "mqtt-subscriptions" },
        h("caption", { class: "visually-hidden", text: "Subscriptions" }),
        h("thead", {}, h("tr", {}, ["Subscription filter", "Device topic prefix", "Type", "QoS", ""].map((t) => h("th", { scope: "col", text: t })))),
        rows,
      ),
    ),
    empty,
    h("div", { class: "actions" }, add),
    area,
    h("div", { class: "actions" }, save),
  );
  syncEmpty();
  section.id = "mqtt-subscriptions-card";
  return section;
}

const EVENTS_SERVICE = "/onvif/events_service";
const TEV = "http://www.onvif.org/ver10/events/wsdl";

/** The ONVIF event broker an ONVIF client added (AddEventBroker): it is this MQTT client's broker. */
function onvifBrokerCard(app, reload) {
  const body = h("div");
  const area = messageArea();
  const section = card("ONVIF event broker", body, area);
  section.id = "mqtt-onvif-broker";
  const show = (broker) => {
    if (!broker) {
      clear(body, h("p", { class: "muted", text: "None. An ONVIF client (Profile M) adds one with AddEventBroker: it then uses this MQTT client." }));
      return;
    }
    const address = soap.textOf(broker, "Address");
    const rows = [
      ["Broker", address],
      ["Topic prefix", `${soap.textOf(broker, "TopicPrefix")}/onvif-ej/…`],
      ["Events", soap.textOf(soap.kid(broker, "PublishFilter"), "TopicExpression") || "all"],
      ["QoS", soap.textOf(broker, "QoS", "0")],
      ["Status", soap.textOf(broker, "Status")],
    ];
    const remove = h("button", { type: "button", class: "danger-text" }, "Remove");
    remove.addEventListener("click", () =>
      busy(remove, async () => {
        try {
          await soap.call(`<tev:DeleteEventBroker xmlns:tev="${TEV}"><tev:Address>${soap.esc(address)}</tev:Address></tev:DeleteEventBroker>`, EVENTS_SERVICE);
          say(area, "ok", "The ONVIF event broker is removed and the MQTT client turned off.");
          await reload();
        } catch (error) {
          app.fail(error, area);
        }
      }),
    );
    clear(body, facts(rows), h("div", { class: "actions" }, remove));
  };
  const load = async () => {
    try {
      const reply = await soap.call(`<tev:GetEventBrokers xmlns:tev="${TEV}"/>`, EVENTS_SERVICE);
      show(soap.kid(reply, "EventBroker"));
    } catch (error) {
      app.fail(error, area);
    }
  };
  return { section, load };
}

export default async function mqttPage(container, app) {
  const [status, publication, subscriptions, topics] = await Promise.all([
    client("getClientStatus"),
    bridge("getEventPublicationConfig"),
    bridge("getMqttSubscriptionConfig"),
    soap.eventInstances().catch(() => []),
  ]);
  const state = { config: status.config, status: status.status };
  const parts = clientCards(app, state);
  parts.showStatus(status.status);
  const onvif = onvifBrokerCard(app, async () => {
    await parts.poll();
    await onvif.load();
  });
  await onvif.load();
  container.append(
    parts.statusCard,
    parts.brokerCard,
    onvif.section,
    publicationCard(app, publication.eventPublicationConfig, topics),
    subscriptionCard(app, subscriptions.mqttSubscriptionConfig?.mqttFilterList || [], status.status),
  );
  const timer = setInterval(parts.poll, 2000);
  api.whenGone(container, () => clearInterval(timer));
}
