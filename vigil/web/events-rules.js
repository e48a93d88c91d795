// Events > Rules: a rule's conditions (from the device's event instances, the first one possibly
// the trigger), the wait between actions and its one action, with the editors for each. Through
// the VAPIX event and action services (soap.js).

import * as api from "./api.js";
import { RECIPIENT_TYPES } from "./events-recipients.js";
import * as soap from "./soap.js";
import { RANK, busy, card, checkbox, clear, confirmAction, field, h, invalid, messageArea, modal, numberInput, pad, say, select, uid } from "./ui.js";

// -- names for tokens the device lists without one -------------------------------------------------
const ACTION_NAMES = {
  "com.axis.action.fixed.io.toggle": "Toggle I/O once",
  "com.axis.action.unlimited.io.toggle": "Toggle I/O while the rule is active",
  "com.axis.action.fixed.mqttpublish": "Send MQTT publish message",
  "com.axis.action.fixed.notification.http": "Send notification through HTTP",
  "com.axis.action.fixed.notification.https": "Send notification through HTTPS",
  "com.axis.action.fixed.notification.smtp": "Send notification to email",
  "com.axis.action.fixed.notification.tcp": "Send notification through TCP",
  "com.axis.action.fixed.notification.ftp": "Send notification file to FTP",
  "com.axis.action.fixed.notification.sftp": "Send notification file to SFTP",
  "com.axis.action.fixed.notification.networkshare": "Send notification file to a network share",
  "com.axis.action.unlimited.recording.storage": "Record video while the rule is active",
  "com.axis.action.fixed.bluetooth.broadcast": "Broadcast signal",
  "com.axis.action.unlimited.bluetooth.broadcast": "Broadcast signal while the rule is active",
};
const MESSAGE_TYPES = { 1: "lightbar active" };
const PLACEHOLDERS =
  "Placeholders: {topic.name}, {source.port}, {data.state}, {time.local}, {time.date}, {device.serial}, {device.hostname}.";

const actionName = (token) => ACTION_NAMES[token] || token.replace(/^com\.axis\.action\./, "");
function actionGroup(token) {
  if (token.includes(".io.")) return "I/O";
  if (token.includes(".notification.")) return "Notifications";
  if (token.includes("mqtt")) return "MQTT";
  if (token.includes("recording")) return "Recordings";
  if (token.includes("audio")) return "Audio";
  if (token.includes("bluetooth")) return "Bluetooth";
  if (token.includes("light")) return "Light";
  return "Other";
}

/** "00:01:30" or "90" -> 90 seconds; NaN when unreadable. */
function readWait(text) {
  const t = text.trim();
  if (!t) return 0;
  if (/^\d+$/.test(t)) return Number(t);
  const m = /^(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?$/.exec(t);
  if (!m) return NaN;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] || 0);
}

const hms = (s) => `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(Math.floor(s % 60))}`;

// -- what the pages know about the device ---------------------------------------------------------
async function loadContext() {
  const ignore = (fallback) => () => fallback;
  const [topics, templates, recipients, actions, rules, schedules, ports] = await Promise.all([
    soap.eventInstances(),
    soap.actionTemplates(),
    soap.recipientConfigurations(),
    soap.actionConfigurations(),
    soap.actionRules(),
    soap.scheduledEvents().catch(ignore([])),
    api
      .jsonApi("/axis-cgi/io/portmanagement.cgi", "1.0", "getPorts")
      .then((d) => d.items || [])
      .catch(ignore([])),
  ]);
  let sources = [];
  if (templates.some((t) => t.token.includes("recording"))) {
    sources = await api
      .jsonApi("/axis-cgi/recorder.cgi", "1.0", "listSources")
      .then((d) => d.sources || [])
      .catch(ignore([]));
  }
  return { topics, templates, recipients, actions, rules, schedules, ports, sources };
}

function portLabel(ctx, index) {
  const port = ctx.ports.find((p) => Number(p.port) === index);
  return port ? `Port ${index + 1} (${port.name})` : `Port ${index + 1}`;
}

/** A value as people read it: port names for I/O, schedule names, the device's nice names. */
function valueLabel(ctx, topic, item, value) {
  const known = item.values.find((v) => v.value === value);
  if (known?.nice) return known.nice;
  const t = topic.topic;
  if (/tnsaxis:IO\/(Port|SupervisedPort)$/.test(t) && item.name === "port") return portLabel(ctx, Number(value) - 1);
  if (/Trigger\/(DigitalInput|Relay)$/.test(t) && /Token$/.test(item.name)) return portLabel(ctx, Number(value));
  if (/IO\/VirtualInput$/.test(t) && item.name === "port") return `Virtual input ${value}`;
  if (/Recurring\/(Interval|Pulse)$/.test(t) && item.name === "id") {
    const schedule = ctx.schedules.find((s) => s.id === value);
    if (schedule) return schedule.name;
  }
  if (item.type === "xsd:boolean") return { 1: "Yes", 0: "No", true: "Yes", false: "No" }[value] || value;
  return value;
}

function filterSummary(ctx, filter) {
  const parsed = soap.readFilter(filter, ctx.topics);
  if (!parsed) return `${filter.topic}${filter.content ? ` (${filter.content})` : ""}`;
  const { topic, items, invert } = parsed;
  const parts = [];
  for (const item of [...topic.source, ...topic.data]) {
    if (item === topic.state && soap.booleanState(topic)) continue;
    if (items[item.name] !== undefined) {
      const label = valueLabel(ctx, topic, item, items[item.name]);
      parts.push(item === topic.state || topic.source.includes(item) ? label : `${item.nice} ${label}`);
    }
  }
  if (topic.state && soap.booleanState(topic)) {
    const word = invert ? "inactive" : "active";
    const nice = topic.state.nice.toLowerCase();
    parts.push(["active", "state", "logicalstate"].includes(nice) ? word : `${nice} ${word}`);
  }
  else if (invert) parts.push("inverted");
  return `${topic.nice}${parts.length ? `: ${parts.join(", ")}` : ""}`;
}

function actionSummary(ctx, config) {
  if (!config) return "(missing action)";
  const p = config.params;
  const name = actionName(config.token);
  let detail = "";
  if (config.token.includes(".io.toggle")) {
    detail = `${portLabel(ctx, Number(p.port))}, ${["high", "active", "1"].includes((p.state || "high").toLowerCase()) ? "active" : "inactive"}`;
    if (Number(p.duration)) detail += `, ${p.duration} s`;
  } else if (config.token.includes(".notification.")) {
    const recipient = ctx.recipients.find((r) => r.id === p.recipient_id);
    detail = recipient ? `to ${recipient.name}` : p.recipient_id ? `to recipient ${p.recipient_id}` : "inline recipient";
    if (p.subject) detail += `: “${p.subject}”`;
  } else if (config.token.includes("mqttpublish")) {
    detail = `${p.Topic}${p.Payload ? ` = ${p.Payload}` : ""}`;
  } else if (config.token.includes("recording")) {
    const source = ctx.sources.find((s) => s.id === p.source);
    detail = source?.name || p.source || "";
  } else if (config.token.includes("bluetooth")) {
    const type = MESSAGE_TYPES[p.message_type];
    detail = `System ID ${p.system_id}, message type ${p.message_type}${type ? ` (${type})` : ""}`;
  }
  return detail ? `${name} (${detail})` : name;
}

// -- the condition editor ----------------------------------------------------------------------------
function conditionBlock(ctx, initial, onRemove) {
  const legendId = uid("legend");
  const legend = h("legend", { id: legendId });
  const topicSelect = h("select", { "aria-labelledby": legendId, "data-role": "topic" });
  const items = h("div", { class: "condition-items" });
  const trigger = checkbox(
    "Use this condition as a trigger",
    false,
    "The rule starts when this event happens, and stays active while the other conditions are met.",
  );
  const invert = checkbox("Invert this condition", false, "The condition is met when the event is not active.");
  const remove = h("button", { type: "button", class: "danger-text remove-condition" }, "Remove condition");
  const element = h("fieldset", { class: "condition" }, legend, topicSelect, items, trigger.element, invert.element, remove);
  remove.addEventListener("click", onRemove);
  let controls = {}; // item name -> control
  let index = 0;
  const raw = initial?.raw || null; // a stored filter on a topic this device no longer lists

  function fillTopics() {
    const wanted = topicSelect.value;
    const groups = new Map();
    for (const t of ctx.topics) {
      if (index > 0 && !t.stateful) continue; // stateless events can only start a rule
      if (!groups.has(t.group)) groups.set(t.group, []);
      groups.get(t.group).push([t.topic, t.nice]);
    }
    const choices = [...groups].sort((a, b) => a[0].localeCompare(b[0]));
    clear(topicSelect, h("option", { value: "", text: "Select a condition" }));
    if (raw) topicSelect.append(h("option", { value: raw.topic, text: `${raw.topic} (stored)` }));
    for (const [group, list] of choices) {
      topicSelect.append(h("optgroup", { label: group }, list.map(([value, text]) => h("option", { value, text }))));
    }
    topicSelect.value = wanted;
  }

  function current() {
    return ctx.topics.find((t) => t.topic === topicSelect.value) || null;
  }

  /** `stored`: the values of a saved rule, where a missing source item means "any". */
  function fillItems(values = {}, stored = false) {
    controls = {};
    clear(items);
    const topic = current();
    trigger.element.hidden = index !== 0;
    if (!topic) {
      invert.element.hidden = true;
      return;
    }
    for (const item of topic.source) {
      let control;
      if (!item.values.length && /Recurring\/(Interval|Pulse)$/.test(topic.topic)) {
        const kind = topic.topic.endsWith("Pulse") ? "pulse" : "schedule";
        control = select({ disabled: true }, [["", `No ${kind} yet`]]);
        controls[item.name] = control;
        items.append(field(item.nice, control, `Add a ${kind} under Schedules first.`));
        continue;
      }
      if (item.values.length) {
        control = select({}, [...item.values.map((v) => [v.value, valueLabel(ctx, topic, item, v.value)]), ["", `Any ${item.nice.toLowerCase()}`]]);
        control.value = values[item.name] ?? (stored ? "" : item.values[0].value);
      } else {
        control = h("input", { value: values[item.name] ?? "", placeholder: "Any", autocomplete: "off", spellcheck: "false" });
      }
      controls[item.name] = control;
      items.append(field(item.nice, control));
    }
    for (const item of topic.data) {
      if (item === topic.state && soap.booleanState(topic)) continue;
      let control;
      if (!item.values.length && item.type === "xsd:boolean") {
        const [yes, no] = topic.topic.includes("tnsaxis:") ? ["1", "0"] : ["true", "false"];
        control = select({}, [["", "Any"], [yes, "Yes"], [no, "No"]]);
        control.value = values[item.name] ?? "";
      } else if (item.values.length) {
        control = select({}, [["", "Any"], ...item.values.map((v) => [v.value, valueLabel(ctx, topic, item, v.value)])]);
        control.value = values[item.name] ?? "";
      } else {
        control = h("input", { value: values[item.name] ?? "", placeholder: item === topic.state ? "" : "Any", autocomplete: "off", spellcheck: "false" });
      }
      controls[item.name] = control;
      items.append(field(item.nice, control, item === topic.state ? "The condition is met while the state has this value." : null));
    }
    invert.element.hidden = !topic.stateful;
    if (!topic.stateful) invert.box.checked = false;
    if (index === 0 && !topic.stateful) {
      trigger.box.checked = true;
      trigger.box.disabled = true;
    } else {
      trigger.box.disabled = false;
    }
  }

  topicSelect.addEventListener("change", () => fillItems());

  const block = {
    element,
    setIndex(n, count) {
      index = n;
      legend.textContent = `Condition ${n + 1}`;
      remove.hidden = count < 2;
      remove.setAttribute("aria-label", `Remove condition ${n + 1}`);
      const values = Object.fromEntries(Object.entries(controls).map(([k, c]) => [k, c.value]));
      fillTopics();
      fillItems(values);
    },
    /** {filter, trigger, stateful} or throws an Error with .control */
    read() {
      if (raw && topicSelect.value === raw.topic) return { filter: raw, trigger: index === 0 && trigger.box.checked, stateful: true };
      const topic = current();
      if (!topic) throw invalid(topicSelect, `Select an event for condition ${index + 1}.`);
      const values = {};
      for (const [name, control] of Object.entries(controls)) values[name] = control.value.trim();
      if (invert.box.checked && topic.state && !soap.booleanState(topic) && !values[topic.state.name]) {
        throw invalid(controls[topic.state.name], `Condition ${index + 1}: enter the ${topic.state.nice.toLowerCase()} to invert.`);
      }
      const filter = soap.conditionFilter({ topic, items: values, invert: invert.box.checked && topic.stateful });
      return { filter, trigger: index === 0 && trigger.box.checked, stateful: topic.stateful };
    },
  };
  // First fill, then select what was given.
  fillTopics();
  if (initial?.parsed) {
    topicSelect.value = initial.parsed.topic.topic;
    fillItems(initial.parsed.items, true);
    invert.box.checked = initial.parsed.invert;
  } else if (raw) {
    topicSelect.value = raw.topic;
  }
  if (initial?.trigger) trigger.box.checked = true;
  return block;
}

// -- the action editor ---------------------------------------------------------------------------------
function actionParams(ctx, template, initial = {}) {
  const token = template.token;
  const names = template.params.map((p) => p.name);
  const wrap = h("div", { class: "action-params" });
  const readers = [];
  const text = (name, label, hint, { area = false, required = false } = {}) => {
    const control = area ? h("textarea", { rows: "3", spellcheck: "false" }) : h("input", { autocomplete: "off", spellcheck: "false" });
    control.value = initial[name] ?? "";
    wrap.append(field(label, control, hint));
    readers.push((out) => {
      if (required && !control.value.trim()) throw invalid(control, `Enter the ${label.toLowerCase()}.`);
      out[name] = control.value;
    });
  };

  if (token.includes(".io.toggle")) {
    const outputs = ctx.ports.filter((p) => p.direction === "output");
    const list = (outputs.length ? outputs : ctx.ports).map((p) => [p.port, portLabel(ctx, Number(p.port))]);
    const port = list.length ? select({}, list) : h("input", { type: "number", min: "0", value: "0" });
    port.value = initial.port ?? list[0]?.[0] ?? "0";
    const state = select({}, [["high", "Active"], ["low", "Inactive"]]);
    state.value = ["low", "inactive", "0"].includes((initial.state || "").toLowerCase()) ? "low" : "high";
    wrap.append(field("Port", port), field("State", state, "Active is the opposite of the port's normal state."));
    readers.push((out) => {
      out.port = String(port.value);
      out.state = state.value;
    });
    if (names.includes("duration")) {
      const duration = numberInput(initial.duration || "0", 0, 86400);
      wrap.append(field("Duration (s)", duration, "How long the port stays in the new state; 0 leaves it there."));
      readers.push((out) => {
        if (!/^\d+$/.test(duration.value)) throw invalid(duration, "The duration is a whole number of seconds.");
        out.duration = duration.value;
      });
    }
  } else if (token.includes(".notification.")) {
    const mine = ctx.recipients.filter((r) => r.token === template.recipient);
    const type = RECIPIENT_TYPES[template.recipient] || template.recipient;
    if (!mine.length) {
      wrap.append(h("p", { class: "message error", text: `There is no ${type} recipient yet. Add one under Recipients first.` }));
      readers.push(() => {
        throw invalid(null, `Add a ${type} recipient under Recipients first.`);
      });
    } else {
      const recipient = select({}, mine.map((r) => [r.id, r.name]));
      recipient.value = initial.recipient_id || mine[0].id;
      wrap.append(field("Recipient", recipient));
      readers.push((out) => (out.recipient_id = recipient.value));
    }
    if (names.includes("subject")) text("subject", "Subject");
    if (names.includes("filename")) text("filename", "File name", "The name of the file to store, for example alarm-{time.epoch}.txt.");
    if (names.includes("message")) text("message", "Message", PLACEHOLDERS, { area: true });
    if (names.includes("parameters")) text("parameters", "Custom CGI parameters", "Added to the URL, for example camera=1&event=door.");
  } else if (token.includes("mqttpublish")) {
    text("Topic", "Topic", "The MQTT topic to publish on.", { required: true });
    text("Payload", "Payload", PLACEHOLDERS, { area: true });
    const qos = select({}, [["0", "0"], ["1", "1"], ["2", "2"]]);
    qos.value = initial.QoS || "0";
    const retain = checkbox("Retain", ["true", "1", "yes"].includes((initial.Retained || "").toLowerCase()));
    wrap.append(field("QoS", qos), retain.element);
    readers.push((out) => {
      out.QoS = qos.value;
      out.Retained = retain.box.checked ? "true" : "false";
    });
  } else if (token.includes("recording")) {
    const list = ctx.sources.map((s) => [s.id, s.name ? `${s.name} (${s.id})` : s.id]);
    const source = list.length ? select({}, list) : h("input", { autocomplete: "off" });
    source.value = initial.source || list[0]?.[0] || "";
    const pre = numberInput(Math.round(Number(initial.pre_duration || 5000) / 1000), 0, 30);
    const post = numberInput(Math.round(Number(initial.post_duration || 5000) / 1000), 0, 300);
    wrap.append(
      field("Camera", source),
      field("Pre-event buffer (s)", pre, "Footage from before the rule became active, 0 to 30 seconds."),
      field("Post-event buffer (s)", post, "Recording goes on this long after the rule ends, 0 to 300 seconds."),
    );
    readers.push((out) => {
      if (!source.value) throw invalid(source, "Choose the camera to record.");
      out.source = source.value;
      out.pre_duration = String(Number(pre.value || 0) * 1000);
      out.post_duration = String(Number(post.value || 0) * 1000);
    });
  } else if (token.includes("bluetooth")) {
    const system = h("input", { autocomplete: "off", spellcheck: "false", maxlength: "8", value: initial.system_id || "" });
    const type = numberInput(initial.message_type || "1", 1, 255);
    wrap.append(
      field("System ID", system, "The body worn system's ID, from the About menu of AXIS Body Worn Manager (up to 8 hexadecimal digits)."),
      field("Message type", type, "1 broadcasts the message “lightbar active”."),
    );
    readers.push((out) => {
      if (!/^[0-9A-Fa-f]{1,8}$/.test(system.value.trim())) throw invalid(system, "The System ID is 1 to 8 hexadecimal digits.");
      if (!/^\d+$/.test(type.value) || Number(type.value) < 1 || Number(type.value) > 255) {
        throw invalid(type, "The message type is a whole number from 1 to 255.");
      }
      out.system_id = system.value.trim().toUpperCase();
      out.message_type = type.value;
    });
  } else {
    for (const p of template.params) text(p.name, p.name);
  }
  return {
    element: wrap,
    read() {
      const out = {};
      for (const reader of readers) reader(out);
      return out;
    },
  };
}

function actionBlock(ctx, initial) {
  const groups = new Map();
  for (const t of ctx.templates) {
    const group = actionGroup(t.token);
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push([t.token, actionName(t.token)]);
  }
  const legendId = uid("legend");
  const legend = h("legend", { id: legendId, text: "Action" });
  const choice = select({ "aria-labelledby": legendId }, [["", "Select an action"]]);
  for (const [group, list] of [...groups].sort((a, b) => a[0].localeCompare(b[0]))) {
    choice.append(h("optgroup", { label: group }, list.map(([value, text]) => h("option", { value, text }))));
  }
  const paramsHolder = h("div");
  let editor = null;
  const show = (values) => {
    const template = ctx.templates.find((t) => t.token === choice.value);
    editor = template ? actionParams(ctx, template, values) : null;
    clear(paramsHolder, editor ? editor.element : null);
  };
  choice.addEventListener("change", () => show({}));
  if (initial && ctx.templates.some((t) => t.token === initial.token)) {
    choice.value = initial.token;
    show(initial.params);
  }
  return {
    element: h("fieldset", { class: "action" }, legend, choice, paramsHolder),
    read() {
      if (!editor) throw invalid(choice, "Select an action.");
      return { token: choice.value, params: editor.read() };
    },
  };
}

/** Add or edit a rule; resolves true when the device has the new rule. */
async function ruleDialog(ctx, app, existing) {
  const name = h("input", { value: existing?.name || "", maxlength: "128", autocomplete: "off" });
  const enabled = checkbox("Turn on the rule", existing ? existing.enabled : true);
  const wait = h("input", { value: hms(existing?.wait || 0), autocomplete: "off", inputmode: "numeric", pattern: "\\d{1,2}:\\d{1,2}(:\\d{1,2})?" });
  const list = h("div", { class: "conditions" });
  const blocks = [];
  const renumber = () => blocks.forEach((b, i) => b.setIndex(i, blocks.length));
  const addBlock = (initial) => {
    const block = conditionBlock(ctx, initial, () => {
      blocks.splice(blocks.indexOf(block), 1);
      block.element.remove();
      renumber();
    });
    blocks.push(block);
    list.append(block.element);
    renumber();
    return block;
  };
  if (existing) {
    const filters = [...(existing.start ? [existing.start] : []), ...existing.conditions];
    filters.forEach((filter, i) => {
      const parsed = soap.readFilter(filter, ctx.topics);
      addBlock({ parsed, raw: parsed ? null : filter, trigger: i === 0 && Boolean(existing.start) });
    });
  }
  if (!blocks.length) addBlock(null);
  const more = h("button", { type: "button" }, "+ Add a condition");
  more.addEventListener("click", () => addBlock(null).element.querySelector("select").focus());
  const config = existing ? ctx.actions.find((a) => a.id === existing.action) : null;
  const action = actionBlock(ctx, config);
  const area = messageArea();
  const content = h(
    "div",
    { class: "rule-editor" },
    h(
      "div",
      { class: "rule-basics" },
      field("Name", name),
      field("Wait between actions", wait, "The least time (hh:mm:ss) between two runs of the action."),
    ),
    enabled.element,
    h("h3", { text: "Conditions" }),
    h("p", { class: "hint", text: "All conditions must be met for the rule to be active." }),
    list,
    h("div", { class: "actions" }, more),
    action.element,
    area,
  );

  const onSubmit = async () => {
    for (const control of content.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
    let rule;
    let chosen;
    try {
      if (!name.value.trim()) throw invalid(name, "Enter a name for the rule.");
      const seconds = readWait(wait.value);
      if (Number.isNaN(seconds) || seconds > 86400) throw invalid(wait, "Enter the wait between actions as hh:mm:ss, at most 24:00:00.");
      const read = blocks.map((b) => b.read());
      const trigger = read[0].trigger;
      const filters = read.map((r) => r.filter);
      rule = {
        name: name.value.trim(),
        enabled: enabled.box.checked,
        start: trigger ? filters[0] : null,
        conditions: trigger ? filters.slice(1) : filters,
        wait: seconds,
      };
      chosen = action.read();
    } catch (error) {
      if (error.control) {
        error.control.setAttribute("aria-invalid", "true");
        error.control.focus();
      }
      say(area, "error", error.message);
      return false;
    }
    try {
      const actionId = await soap.addActionConfiguration(rule.name, chosen.token, chosen.params);
      try {
        await soap.addActionRule({ ...rule, action: actionId });
      } catch (error) {
        await soap.removeActionConfiguration(actionId).catch(() => {});
        throw error;
      }
      if (existing) await replaceOld(ctx, existing);
    } catch (error) {
      app.fail(error, area);
      return false;
    }
    return true;
  };
  const saved = await modal({
    title: existing ? `Edit rule ${existing.name}` : "Add a rule",
    content,
    wide: true,
    onSubmit,
    buttons: [
      { label: "Cancel", value: "cancel" },
      { label: "Save", value: "save", class: "primary" },
    ],
  });
  return saved === "save";
}

/** Remove a rule that was replaced, and its action configuration when no other rule uses it. */
async function replaceOld(ctx, rule) {
  await soap.removeActionRule(rule.id);
  const others = ctx.rules.some((r) => r.id !== rule.id && r.action === rule.action);
  if (!others) await soap.removeActionConfiguration(rule.action).catch(() => {});
}

export function rulesPanel(app, panel) {
  const admin = RANK[app.role] >= RANK.admin;
  const area = messageArea();
  const body = h("div", { class: "table-wrap" }, h("p", { class: "muted", text: "Loading…" }));
  const add = h("button", { type: "button", class: "primary", id: "add-rule", disabled: true }, "+ Add a rule");
  let ctx = null;

  async function load() {
    try {
      ctx = await loadContext();
    } catch (error) {
      app.fail(error, area);
      return;
    }
    add.disabled = false;
    if (!ctx.rules.length) {
      clear(body, h("p", { class: "muted", text: "There are no rules yet." }));
      return;
    }
    const rows = ctx.rules.map((rule) => {
      const config = ctx.actions.find((a) => a.id === rule.action);
      const conditions = [
        ...(rule.start ? [h("li", {}, h("span", { class: "tag", text: "Trigger" }), " ", filterSummary(ctx, rule.start))] : []),
        ...rule.conditions.map((c) => h("li", { text: filterSummary(ctx, c) })),
      ];
      let enabledCell;
      if (admin) {
        const toggle = h("input", { type: "checkbox", role: "switch", "aria-label": `Rule ${rule.name} on` });
        toggle.checked = rule.enabled;
        toggle.addEventListener("change", async () => {
          toggle.disabled = true;
          try {
            // The action service has no call to change a rule: add it again, then remove the old one.
            await soap.addActionRule({ ...rule, enabled: toggle.checked });
            await soap.removeActionRule(rule.id);
            say(area, "ok", `The rule ${rule.name} is ${toggle.checked ? "on" : "off"}.`);
          } catch (error) {
            toggle.checked = !toggle.checked;
            app.fail(error, area);
          }
          await load();
        });
        enabledCell = h("td", {}, toggle);
      } else {
        enabledCell = h("td", {}, h("span", { class: rule.enabled ? "pill on" : "pill off", text: rule.enabled ? "On" : "Off" }));
      }
      const tools = h("td", { class: "row-actions" });
      if (admin) {
        const edit = h("button", { type: "button", "aria-label": `Edit rule ${rule.name}` }, "Edit");
        edit.addEventListener("click", async () => {
          if (await ruleDialog(ctx, app, rule)) {
            await load();
            say(area, "ok", `The rule ${rule.name} is saved.`);
          }
        });
        const remove = h("button", { type: "button", class: "danger-text", "aria-label": `Delete rule ${rule.name}` }, "Delete");
        remove.addEventListener("click", async () => {
          if (!(await confirmAction("Delete rule", `Delete the rule ${rule.name}?`, "Delete"))) return;
          try {
            await busy(remove, () => replaceOld(ctx, rule));
            say(area, "ok", `The rule ${rule.name} is deleted.`);
          } catch (error) {
            app.fail(error, area);
          }
          await load();
        });
        tools.append(edit, remove);
      }
      return h(
        "tr",
        { "data-rule": rule.name, class: rule.enabled ? "" : "off" },
        enabledCell,
        h("th", { scope: "row", text: rule.name }),
        h("td", {}, h("ul", { class: "plain" }, conditions), rule.wait ? h("span", { class: "hint", text: `Wait ${hms(rule.wait)} between actions` }) : null),
        h("td", { text: actionSummary(ctx, config) }),
        tools,
      );
    });
    clear(
      body,
      h(
        "table",
        { id: "rules-table" },
        h("caption", { text: `${ctx.rules.length} of 256 rules` }),
        h("thead", {}, h("tr", {}, ["On", "Name", "Conditions", "Action", ""].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows),
      ),
    );
  }

  add.addEventListener("click", async () => {
    if (!ctx) return;
    if (await ruleDialog(ctx, app, null)) {
      await load();
      say(area, "ok", "The rule is saved.");
    }
  });
  const section = card(
    "Rules",
    h("p", { class: "muted", text: "A rule performs its action when its conditions are met." }),
    area,
    body,
  );
  if (admin) section.querySelector("h2").after(h("div", { class: "card-tools" }, add));
  panel.append(section);
  return load();
}
