// The VAPIX event and action services (SOAP at /vapix/services), as the web pages use them:
// envelopes, faults, the event instances (the topic tree of GetEventInstances), rules with
// their topic expressions and item filters, action and recipient configurations, schedules.
// Everything here is the public API; nothing is private to the pages.

import { ApiError, request } from "./api.js";

export const NS = {
  soap: "http://www.w3.org/2003/05/soap-envelope",
  aev: "http://www.axis.com/vapix/ws/event1",
  aa: "http://www.axis.com/vapix/ws/action1",
  wsnt: "http://docs.oasis-open.org/wsn/b-2",
  wstop: "http://docs.oasis-open.org/wsn/t-1",
  tns1: "http://www.onvif.org/ver10/topics",
  tnsaxis: "http://www.axis.com/2009/event/topics",
  tds: "http://www.onvif.org/ver10/device/wsdl",
  tt: "http://www.onvif.org/ver10/schema",
};
const PREFIX_OF = { [NS.tns1]: "tns1", [NS.tnsaxis]: "tnsaxis" };
export const CONCRETE_SET = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet";
export const ITEM_FILTER = "http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter";

/** Text safe inside an XML element or a double-quoted attribute. */
export function esc(value) {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** One SOAP 1.2 call (to the VAPIX services unless `path` names another SOAP service, such as
 * ONVIF's /onvif/device_service); returns the Body's first element, or throws an ApiError with
 * the fault's reason. */
export async function call(body, path = "/vapix/services") {
  const envelope =
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${NS.soap}" xmlns:aa="${NS.aa}" ` +
    `xmlns:aev="${NS.aev}" xmlns:wsnt="${NS.wsnt}" xmlns:tns1="${NS.tns1}" xmlns:tnsaxis="${NS.tnsaxis}" ` +
    `xmlns:tds="${NS.tds}" xmlns:tt="${NS.tt}"><soap:Body>${body}</soap:Body></soap:Envelope>`;
  const response = await request(path, {
    method: "POST",
    headers: { "Content-Type": "application/soap+xml; charset=utf-8" },
    body: envelope,
    allow: [400, 500],
  });
  const source = await response.text();
  const doc = new DOMParser().parseFromString(source, "application/xml");
  if (doc.getElementsByTagName("parsererror").length) {
    throw new ApiError(`The device answered ${response.status} without a readable SOAP reply.`, response.status);
  }
  const fault = doc.getElementsByTagNameNS(NS.soap, "Fault")[0];
  if (fault) {
    const reason = fault.getElementsByTagNameNS(NS.soap, "Text")[0]?.textContent || fault.textContent;
    throw new ApiError(reason.trim() || "The device refused the request.", response.status);
  }
  const soapBody = doc.getElementsByTagNameNS(NS.soap, "Body")[0];
  const result = soapBody && [...soapBody.children][0];
  if (!result) throw new ApiError("The device sent an empty SOAP reply.", response.status);
  return result;
}

// -- small DOM readers ----------------------------------------------------------------------
export function kids(element, local) {
  return element ? [...element.children].filter((c) => c.localName === local) : [];
}

export function kid(element, local) {
  return kids(element, local)[0] || null;
}

export function textOf(element, local, fallback = "") {
  const found = kid(element, local);
  return found ? found.textContent.trim() : fallback;
}

function parameters(element) {
  const out = {};
  for (const p of kids(kid(element, "Parameters"), "Parameter")) {
    out[p.getAttribute("Name")] = p.getAttribute("Value") ?? p.textContent ?? "";
  }
  return out;
}

function parametersXml(params) {
  return (
    "<aa:Parameters>" +
    Object.entries(params)
      .map(([name, value]) => `<aa:Parameter Name="${esc(name)}" Value="${esc(value)}"/>`)
      .join("") +
    "</aa:Parameters>"
  );
}

// -- topics -----------------------------------------------------------------------------------
/** `tns1:Device/tnsaxis:IO/Port` -> `onvif:Device/axis:IO/Port` (MQTT and JSON spelling). */
export function shortTopic(topic) {
  return topic.replace(/(^|\/)tns1:/g, "$1onvif:").replace(/(^|\/)tnsaxis:/g, "$1axis:");
}

const OPPOSITE = { 1: "0", 0: "1", true: "false", false: "true", active: "inactive", inactive: "active" };
export const opposite = (value) => OPPOSITE[value];
const FALSE_WORDS = new Set(["0", "false", "inactive", "low", "no", "off"]);

/**
 * The event instances as a flat list of topics:
 * {topic, nice, group, stateful, source: [item], data: [item], state: item|null}
 * with item = {name, nice, type, state, values: [{value, nice}]}.
 */
export async function eventInstances() {
  const response = await call("<aev:GetEventInstances/>");
  const set = kid(response, "TopicSet");
  const topics = [];
  const walk = (element, path) => {
    for (const node of element.children) {
      if (node.namespaceURI === NS.aev) continue; // a MessageInstance and the like
      const prefix = PREFIX_OF[node.namespaceURI];
      const segment = prefix ? `${prefix}:${node.localName}` : node.localName;
      const here = [...path, segment];
      if (node.getAttributeNS(NS.wstop, "topic") === "true") topics.push(readTopic(node, here));
      walk(node, here);
    }
  };
  if (set) walk(set, []);
  return topics;
}

function readTopic(node, path) {
  const instance = [...node.children].find((c) => c.localName === "MessageInstance");
  const items = (holder) =>
    kids(kid(instance, holder), "SimpleItemInstance").map((item) => ({
      name: item.getAttribute("Name"),
      nice: item.getAttributeNS(NS.aev, "NiceName") || item.getAttribute("Name"),
      type: item.getAttribute("Type") || "xsd:string",
      state: item.getAttribute("isPropertyState") === "true",
      values: kids(item, "Value").map((v) => ({ value: v.textContent.trim(), nice: v.getAttributeNS(NS.aev, "NiceName") || "" })),
    }));
  const stateful = instance?.getAttributeNS(NS.aev, "isProperty") === "true";
  const source = instance ? items("SourceInstance") : [];
  const data = instance ? items("DataInstance") : [];
  const state = stateful ? data.find((i) => i.state) || data[0] || null : null;
  const topic = path.join("/");
  return {
    topic,
    nice: node.getAttributeNS(NS.aev, "NiceName") || node.localName,
    group: groupOf(path),
    stateful,
    source,
    data,
    state,
  };
}

const GROUPS = {
  IO: "I/O",
  Trigger: "I/O",
  Recurring: "Schedules",
  MQTT: "MQTT",
  Message: "MQTT",
  SystemMessage: "System",
  Storage: "Storage",
  RecordingConfig: "Recording",
  Recording: "Recording",
  Audio: "Audio",
  AudioSource: "Audio",
  Light: "Light",
  Power: "Power",
  Network: "Network",
  HardwareFailure: "System",
  Monitoring: "System",
  LedControl: "System",
  SIP: "SIP",
};

function groupOf(path) {
  for (let i = path.length - 2; i >= 0; i -= 1) {
    const local = path[i].split(":").pop();
    if (GROUPS[local]) return GROUPS[local];
  }
  const parent = path.length > 1 ? path[path.length - 2] : path[0];
  return parent.split(":").pop();
}

/** The value that means "active" for a topic's state item (as the device writes it). */
export function trueValue(topic) {
  const item = topic.state;
  if (!item) return "1";
  if (item.values.length) return item.values[0].value;
  if (item.type === "xsd:boolean" && !topic.topic.includes("tnsaxis:")) return "true";
  return "1";
}

/** Whether the state item is a yes/no value that "Invert this condition" turns around. */
export function booleanState(topic) {
  const item = topic.state;
  if (!item) return false;
  if (item.type === "xsd:boolean") return true;
  return item.values.length === 2 && opposite(item.values[0].value) === item.values[1].value;
}

// -- item filters -------------------------------------------------------------------------------
const TERM =
  /(not\s*\(\s*)?boolean\s*\(\s*\/\/(?:\w+:)?SimpleItem\s*\[\s*@Name\s*=\s*(["'])(.*?)\2\s+and\s+@Value\s*=\s*(["'])(.*?)\4\s*\]\s*\)\s*\)?/g;

/** `boolean(//SimpleItem[@Name="port" and @Value="1"]) and ...` -> [{name, value, not}]. */
export function parseItems(content) {
  const out = [];
  for (const match of (content || "").matchAll(TERM)) out.push({ name: match[3], value: match[5], not: Boolean(match[1]) });
  return out;
}

function term(name, value) {
  const quote = String(value).includes('"') ? "'" : '"';
  return `boolean(//SimpleItem[@Name="${name}" and @Value=${quote}${value}${quote}])`;
}

/**
 * A condition of the editor as a topic expression and item filter.
 * condition = {topic (from eventInstances), items: {name: value}, invert}
 */
export function conditionFilter(condition) {
  const { topic, items, invert } = condition;
  const terms = [];
  for (const item of [...topic.source, ...topic.data]) {
    if (item === topic.state) continue;
    const value = items[item.name];
    if (value !== undefined && value !== "") terms.push(term(item.name, value));
  }
  if (topic.state) {
    if (booleanState(topic)) {
      const on = trueValue(topic);
      terms.push(term(topic.state.name, invert ? opposite(on) ?? on : on));
    } else {
      const value = items[topic.state.name];
      if (value !== undefined && value !== "") terms.push(invert ? `not(${term(topic.state.name, value)})` : term(topic.state.name, value));
    }
  }
  return { topic: topic.topic, content: terms.join(" and ") };
}

/** The editor's view of a stored filter: {topic, items: {name: value}, invert}, or null. */
export function readFilter(filter, topics) {
  const topic = topics.find((t) => t.topic === filter.topic);
  if (!topic) return null;
  const items = {};
  let invert = false;
  for (const t of parseItems(filter.content)) {
    if (topic.state && t.name === topic.state.name) {
      if (booleanState(topic)) {
        const off = FALSE_WORDS.has(String(t.value).toLowerCase());
        invert = t.not ? !off : off;
      } else {
        items[t.name] = t.value;
        invert = t.not;
      }
    } else {
      items[t.name] = t.value;
    }
  }
  return { topic, items, invert };
}

function filterXml(tag, filter) {
  let inner = `<wsnt:TopicExpression Dialect="${CONCRETE_SET}">${esc(filter.topic)}</wsnt:TopicExpression>`;
  if (filter.content) inner += `<wsnt:MessageContent Dialect="${ITEM_FILTER}">${esc(filter.content)}</wsnt:MessageContent>`;
  return `<aa:${tag}>${inner}</aa:${tag}>`;
}

function readFilterElement(element) {
  return { topic: textOf(element, "TopicExpression"), content: textOf(element, "MessageContent") };
}

// -- rules and actions ----------------------------------------------------------------------------
/** "PT1H2M3S" / "PT30S" / "30" -> seconds. */
export function durationSeconds(text) {
  if (!text) return 0;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text.trim());
  if (!m) return 0;
  return Number(m[1] || 0) * 86400 + Number(m[2] || 0) * 3600 + Number(m[3] || 0) * 60 + Number(m[4] || 0);
}

/** Rules as {id, name, enabled, start: filter|null, conditions: [filter], wait (s), action (id)}. */
export async function actionRules() {
  const response = await call("<aa:GetActionRules/>");
  return kids(kid(response, "ActionRules"), "ActionRule").map((rule) => {
    const start = kid(rule, "StartEvent");
    return {
      id: textOf(rule, "RuleID"),
      name: textOf(rule, "Name"),
      enabled: textOf(rule, "Enabled", "true") === "true",
      start: start ? readFilterElement(start) : null,
      conditions: kids(kid(rule, "Conditions"), "Condition").map(readFilterElement),
      wait: durationSeconds(textOf(rule, "ActivationTimeout")),
      action: textOf(rule, "PrimaryAction"),
    };
  });
}

/** Add a rule (same shape as actionRules gives); returns the new RuleID. */
export async function addActionRule(rule) {
  const parts = [`<aa:Name>${esc(rule.name)}</aa:Name><aa:Enabled>${rule.enabled ? "true" : "false"}</aa:Enabled>`];
  if (rule.start) parts.push(filterXml("StartEvent", rule.start));
  if (rule.conditions.length) parts.push(`<aa:Conditions>${rule.conditions.map((c) => filterXml("Condition", c)).join("")}</aa:Conditions>`);
  if (rule.wait) parts.push(`<aa:ActivationTimeout>PT${Math.round(rule.wait)}S</aa:ActivationTimeout>`);
  parts.push(`<aa:PrimaryAction>${esc(rule.action)}</aa:PrimaryAction>`);
  const response = await call(`<aa:AddActionRule><aa:NewActionRule>${parts.join("")}</aa:NewActionRule></aa:AddActionRule>`);
  return textOf(response, "RuleID");
}

export const removeActionRule = (id) => call(`<aa:RemoveActionRule><aa:RuleID>${esc(id)}</aa:RuleID></aa:RemoveActionRule>`);

/** Action templates as {token, recipient, params: [{name, type}]}. */
export async function actionTemplates() {
  const response = await call("<aa:GetActionTemplates/>");
  return kids(kid(response, "ActionTemplates"), "ActionTemplate").map((t) => ({
    token: textOf(t, "TemplateToken"),
    recipient: textOf(t, "RecipientTemplate"),
    params: kids(kid(t, "Parameters"), "Parameter").map((p) => ({ name: p.getAttribute("Name"), type: p.getAttribute("Type") || "xsd:string" })),
  }));
}

/** Action configurations as {id, name, token, params}. */
export async function actionConfigurations() {
  const response = await call("<aa:GetActionConfigurations/>");
  return kids(kid(response, "ActionConfigurations"), "ActionConfiguration").map((c) => ({
    id: textOf(c, "ConfigurationID"),
    name: textOf(c, "Name"),
    token: textOf(c, "TemplateToken"),
    params: parameters(c),
  }));
}

export async function addActionConfiguration(name, token, params) {
  const response = await call(
    `<aa:AddActionConfiguration><aa:NewActionConfiguration><aa:Name>${esc(name)}</aa:Name>` +
      `<aa:TemplateToken>${esc(token)}</aa:TemplateToken>${parametersXml(params)}</aa:NewActionConfiguration></aa:AddActionConfiguration>`,
  );
  return textOf(response, "ConfigurationID");
}

export const removeActionConfiguration = (id) =>
  call(`<aa:RemoveActionConfiguration><aa:ConfigurationID>${esc(id)}</aa:ConfigurationID></aa:RemoveActionConfiguration>`);

// -- recipients -------------------------------------------------------------------------------------
export async function recipientTemplates() {
  const response = await call("<aa:GetRecipientTemplates/>");
  return kids(kid(response, "RecipientTemplates"), "RecipientTemplate").map((t) => ({
    token: textOf(t, "TemplateToken"),
    params: kids(kid(t, "Parameters"), "Parameter").map((p) => p.getAttribute("Name")),
  }));
}

export async function recipientConfigurations() {
  const response = await call("<aa:GetRecipientConfigurations/>");
  return kids(kid(response, "RecipientConfigurations"), "RecipientConfiguration").map((c) => ({
    id: textOf(c, "ConfigurationID"),
    name: textOf(c, "Name"),
    token: textOf(c, "TemplateToken"),
    params: parameters(c),
  }));
}

function newRecipientXml(name, token, params) {
  return (
    `<aa:NewRecipientConfiguration><aa:Name>${esc(name)}</aa:Name><aa:TemplateToken>${esc(token)}</aa:TemplateToken>` +
    `${parametersXml(params)}</aa:NewRecipientConfiguration>`
  );
}

export async function addRecipientConfiguration(name, token, params) {
  const response = await call(`<aa:AddRecipientConfiguration>${newRecipientXml(name, token, params)}</aa:AddRecipientConfiguration>`);
  return textOf(response, "ConfigurationID");
}

export const removeRecipientConfiguration = (id) =>
  call(`<aa:RemoveRecipientConfiguration><aa:ConfigurationID>${esc(id)}</aa:ConfigurationID></aa:RemoveRecipientConfiguration>`);

/** Send a test message to a stored recipient (id) or to settings not saved yet ({name, token, params}). */
export function testRecipient(target) {
  const inner =
    typeof target === "object"
      ? newRecipientXml(target.name, target.token, target.params)
      : `<aa:ConfigurationID>${esc(target)}</aa:ConfigurationID>`;
  return call(`<aa:TestRecipientConfiguration>${inner}</aa:TestRecipientConfiguration>`);
}

// -- schedules and virtual inputs ------------------------------------------------------------------
/** Schedules and pulses as {id, name, ical}. */
export async function scheduledEvents() {
  const response = await call("<aev:GetScheduledEvents/>");
  return kids(kid(response, "ScheduledEvents"), "ScheduledEvent").map((e) => ({
    id: textOf(e, "EventID"),
    name: textOf(e, "Name"),
    ical: textOf(kid(e, "Schedule"), "ICalendar"),
  }));
}

export async function addScheduledEvent(name, ical) {
  const response = await call(
    `<aev:AddScheduledEvent><aev:NewScheduledEvent><aev:Name>${esc(name)}</aev:Name>` +
      `<aev:Schedule><aev:ICalendar>${esc(ical)}</aev:ICalendar></aev:Schedule></aev:NewScheduledEvent></aev:AddScheduledEvent>`,
  );
  return textOf(response, "EventID");
}

export const removeScheduledEvent = (id) =>
  call(`<aev:RemoveScheduledEvent><aev:EventID>${esc(id)}</aev:EventID></aev:RemoveScheduledEvent>`);

export async function changeVirtualInput(port, active) {
  const response = await call(
    `<aev:ChangeVirtualInputState><aev:port>${esc(port)}</aev:port><aev:active>${active ? "true" : "false"}</aev:active></aev:ChangeVirtualInputState>`,
  );
  return textOf(response, "stateChanged") === "true";
}
