// Events: rules (conditions from the device's event instances, one action), recipients of
// notifications with a Test button, schedules and pulses, and manual triggers (virtual
// inputs). Everything goes through the VAPIX event and action services (soap.js).
// Operators may look and use manual triggers; administrators change things, as the API says.

import * as api from "./api.js";
import * as soap from "./soap.js";
import { RANK, busy, card, clear, confirmAction, field, h, messageArea, modal, say, uid } from "./ui.js";

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
};
const RECIPIENT_TYPES = {
  "com.axis.recipient.http": "HTTP",
  "com.axis.recipient.https": "HTTPS",
  "com.axis.recipient.smtp": "Email",
  "com.axis.recipient.ftp": "FTP",
  "com.axis.recipient.sftp": "SFTP",
  "com.axis.recipient.tcp": "TCP",
  "com.axis.recipient.networkshare": "Network share",
};
const PLACEHOLDERS =
  "Placeholders: {topic.name}, {source.port}, {data.state}, {time.local}, {time.date}, {device.serial}, {device.hostname}.";

const actionName = (token) => ACTION_NAMES[token] || token.replace(/^com\.axis\.action\./, "");
function actionGroup(token) {
  if (token.includes(".io.")) return "I/O";
  if (token.includes(".notification.")) return "Notifications";
  if (token.includes("mqtt")) return "MQTT";
  if (token.includes("recording")) return "Recordings";
  if (token.includes("audio")) return "Audio";
  if (token.includes("light")) return "Light";
  return "Other";
}

/** <select> of [value, label] choices, optionally in groups: [[group, [[value, label]...]]...]. */
function select(attrs, choices, grouped = false) {
  const option = ([value, label, extra = {}]) => h("option", { value, text: label, ...extra });
  const element = h("select", attrs, grouped ? choices.map(([group, list]) => h("optgroup", { label: group }, list.map(option))) : choices.map(option));
  return element;
}

function checkbox(label, checked = false, hint = null) {
  const box = h("input", { type: "checkbox", id: uid("check") });
  box.checked = Boolean(checked);
  const parts = [h("label", { for: box.id, text: label })];
  if (hint) {
    const hintId = uid("hint");
    box.setAttribute("aria-describedby", hintId);
    parts.push(h("span", { class: "hint", id: hintId, text: hint }));
  }
  return { box, element: h("div", { class: "check" }, box, h("div", {}, parts)) };
}

function numberInput(value, min, max) {
  return h("input", { type: "number", inputmode: "numeric", step: "1", min: String(min), max: String(max), value: String(value) });
}

function invalid(control, message) {
  const error = new Error(message);
  error.control = control;
  return error;
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

const pad = (n) => String(n).padStart(2, "0");
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

function rulesPanel(app, panel) {
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

// -- recipients ---------------------------------------------------------------------------------------
// Fields per recipient type: [parameter, label, kind, default, hint]; kind: text | password | port | check | select
const RECIPIENT_FIELDS = {
  "com.axis.recipient.http": [
    ["upload_url", "URL", "url", "", "For example http://192.168.254.10/cgi-bin/notify.cgi."],
    ["login", "Username", "text", ""],
    ["password", "Password", "password", ""],
    ["proxy", "Use a proxy", "proxy"],
  ],
  "com.axis.recipient.https": [
    ["upload_url", "URL", "url", "", "For example https://192.168.254.10/cgi-bin/notify.cgi."],
    ["validate_server_cert", "Validate server certificate", "check", "1"],
    ["login", "Username", "text", ""],
    ["password", "Password", "password", ""],
    ["proxy", "Use a proxy", "proxy"],
  ],
  "com.axis.recipient.smtp": [
    ["email_to", "Send email to", "text", "", "Separate several addresses with commas."],
    ["email_from", "Send email from", "text", ""],
    ["login", "Username", "text", "", "Leave empty if the mail server needs no login."],
    ["password", "Password", "password", ""],
    ["host", "Email server (SMTP)", "text", "", "For example smtp.example.com."],
    ["port", "Port", "port", "587"],
    ["encryption", "Encryption", "select", "tls", null, [["none", "None"], ["ssl", "SSL"], ["tls", "TLS (STARTTLS)"]]],
    ["validate_server_cert", "Validate server certificate", "check", "1"],
  ],
  "com.axis.recipient.ftp": [
    ["host", "Host", "text", ""],
    ["port", "Port", "port", "21"],
    ["upload_path", "Folder", "text", "", "The folder must exist on the server."],
    ["login", "Username", "text", ""],
    ["password", "Password", "password", ""],
    ["temporary", "Use temporary file name", "check", "1", "Upload under a temporary name, then rename it."],
    ["passive", "Use passive FTP", "check", "1"],
  ],
  "com.axis.recipient.sftp": [
    ["host", "Host", "text", ""],
    ["port", "Port", "port", "22"],
    ["upload_path", "Folder", "text", "", "The folder must exist on the server."],
    ["login", "Username", "text", ""],
    ["password", "Password", "password", ""],
    ["ssh_host_pub_key_md5", "SSH host public key (MD5)", "text", "", "32 hexadecimal digits."],
    ["ssh_host_pub_key_sha256", "SSH host public key (SHA256)", "text", "", "43 Base64 characters. Give at least one fingerprint."],
    ["temporary", "Use temporary file name", "check", "1"],
  ],
  "com.axis.recipient.tcp": [
    ["host", "Host", "text", ""],
    ["port", "Port", "port", ""],
  ],
  "com.axis.recipient.networkshare": [
    ["share_id", "Share", "text", "", "Where the share is mounted on the device, for example /mnt/nas."],
    ["upload_path", "Folder", "text", "", "A folder below the share."],
  ],
};
const PROXY_FIELDS = [
  ["proxy_host", "Proxy host", "text", ""],
  ["proxy_port", "Proxy port", "port", ""],
  ["proxy_login", "Proxy username", "text", ""],
  ["proxy_password", "Proxy password", "password", ""],
];

function recipientFields(token, values, readOnly) {
  const wrap = h("div", { class: "recipient-fields" });
  const readers = [];
  const build = ([param, label, kind, fallback, hint, choices], into) => {
    const value = values[param] ?? fallback ?? "";
    if (kind === "proxy") {
      const on = Boolean(values.proxy_host);
      const toggle = checkbox(label, on);
      toggle.box.disabled = readOnly;
      const sub = h("div", { class: "sub-fields" });
      into.append(toggle.element, sub);
      const subReaders = [];
      for (const spec of PROXY_FIELDS) subReaders.push(build(spec, sub));
      const sync = () => (sub.hidden = !toggle.box.checked);
      toggle.box.addEventListener("change", sync);
      sync();
      readers.push((out) => {
        if (toggle.box.checked) for (const r of subReaders) r(out);
      });
      return () => {};
    }
    let control;
    let reader;
    if (kind === "check") {
      const box = checkbox(label, ["1", "yes", "true"].includes(String(value).toLowerCase()), hint);
      control = box.box;
      into.append(box.element);
      reader = (out) => (out[param] = control.checked ? "1" : "0");
    } else if (kind === "select") {
      control = select({}, choices);
      control.value = value || choices[0][0];
      into.append(field(label, control, hint));
      reader = (out) => (out[param] = control.value);
    } else {
      const attrs = { value, autocomplete: kind === "password" ? "new-password" : "off", spellcheck: "false" };
      if (kind === "password") attrs.type = "password";
      if (kind === "port") Object.assign(attrs, { type: "number", min: "1", max: "65535", inputmode: "numeric" });
      if (kind === "url") attrs.type = "url";
      control = h("input", attrs);
      into.append(field(label, control, hint));
      reader = (out) => (out[param] = control.value.trim());
    }
    control.disabled = readOnly;
    control.dataset.param = param;
    return reader;
  };
  for (const spec of RECIPIENT_FIELDS[token] || []) {
    const reader = build(spec, wrap);
    readers.push(reader);
  }
  if (!RECIPIENT_FIELDS[token]) {
    wrap.append(h("p", { class: "muted", text: "This recipient type has no editor here." }));
  }
  return {
    element: wrap,
    read() {
      const out = {};
      for (const r of readers) r(out);
      return out;
    },
  };
}

/** mode: add | view | copy. Resolves true when a recipient was added. */
async function recipientDialog(app, templates, mode, recipient) {
  const admin = RANK[app.role] >= RANK.admin;
  const readOnly = mode === "view";
  const tokens = templates.map((t) => t.token).filter((t) => RECIPIENT_FIELDS[t] || RECIPIENT_TYPES[t]);
  const name = h("input", {
    value: mode === "copy" ? `Copy of ${recipient.name}` : recipient?.name || "",
    maxlength: "128",
    autocomplete: "off",
    disabled: readOnly,
  });
  const type = select({ disabled: readOnly }, tokens.map((t) => [t, RECIPIENT_TYPES[t] || t]));
  type.value = recipient?.token || "com.axis.recipient.smtp";
  const holder = h("div");
  let editor = recipientFields(type.value, recipient?.params || {}, readOnly);
  holder.append(editor.element);
  type.addEventListener("change", () => {
    editor = recipientFields(type.value, {}, readOnly);
    clear(holder, editor.element);
  });
  const area = messageArea();
  const content = h("div", { class: "stack" }, field("Name", name), field("Type", type), holder, area);
  const buttons = [{ label: readOnly ? "Close" : "Cancel", value: "cancel" }];
  if (admin) buttons.push({ label: "Test", value: "test" });
  if (!readOnly) buttons.push({ label: "Save", value: "save", class: "primary" });
  const onSubmit = async (value) => {
    const settings = { name: name.value.trim(), token: type.value, params: editor.read() };
    if (value === "test") {
      say(area, "info", "Sending a test message…");
      try {
        await soap.testRecipient(readOnly ? recipient.id : settings);
        say(area, "ok", `The test message was delivered to ${settings.name || "the recipient"}.`);
      } catch (error) {
        app.fail(error, area);
      }
      return false;
    }
    if (!settings.name) {
      name.setAttribute("aria-invalid", "true");
      name.focus();
      say(area, "error", "Enter a name for the recipient.");
      return false;
    }
    name.removeAttribute("aria-invalid");
    try {
      await soap.addRecipientConfiguration(settings.name, settings.token, settings.params);
    } catch (error) {
      app.fail(error, area);
      return false;
    }
    return true;
  };
  const title = mode === "add" ? "Add a recipient" : mode === "copy" ? `Copy recipient ${recipient.name}` : `Recipient ${recipient.name}`;
  const result = await modal({ title, content, buttons, onSubmit });
  return result === "save";
}

function recipientDetail(r) {
  const p = r.params;
  if (p.upload_url) return p.upload_url;
  if (p.email_to) return `${p.email_to} via ${p.host}${p.port ? `:${p.port}` : ""}`;
  if (p.share_id) return `${p.share_id}${p.upload_path ? `/${p.upload_path}` : ""}`;
  if (p.host) return `${p.host}${p.port ? `:${p.port}` : ""}${p.upload_path ? ` ${p.upload_path}` : ""}`;
  return "";
}

async function recipientsPanel(app, panel) {
  const admin = RANK[app.role] >= RANK.admin;
  const area = messageArea();
  const body = h("div", { class: "table-wrap" }, h("p", { class: "muted", text: "Loading…" }));
  const add = h("button", { type: "button", class: "primary", id: "add-recipient", disabled: true }, "+ Add a recipient");
  let templates = [];

  async function load() {
    let recipients;
    try {
      [templates, recipients] = await Promise.all([soap.recipientTemplates(), soap.recipientConfigurations()]);
    } catch (error) {
      app.fail(error, area);
      return;
    }
    add.disabled = false;
    if (!recipients.length) {
      clear(body, h("p", { class: "muted", text: "There are no recipients yet." }));
      return;
    }
    const rows = recipients.map((r) => {
      const tools = h("td", { class: "row-actions" });
      const view = h("button", { type: "button", "aria-label": `View recipient ${r.name}` }, "View");
      view.addEventListener("click", () => recipientDialog(app, templates, "view", r));
      tools.append(view);
      if (admin) {
        const test = h("button", { type: "button", "aria-label": `Test recipient ${r.name}` }, "Test");
        test.addEventListener("click", () =>
          busy(test, async () => {
            say(area, "info", `Sending a test message to ${r.name}…`);
            try {
              await soap.testRecipient(r.id);
              say(area, "ok", `The test message was delivered to ${r.name}.`);
            } catch (error) {
              app.fail(error, area);
            }
          }),
        );
        const copy = h("button", { type: "button", "aria-label": `Copy recipient ${r.name}` }, "Copy");
        copy.addEventListener("click", async () => {
          if (await recipientDialog(app, templates, "copy", r)) {
            await load();
            say(area, "ok", "The recipient is saved.");
          }
        });
        const remove = h("button", { type: "button", class: "danger-text", "aria-label": `Delete recipient ${r.name}` }, "Delete");
        remove.addEventListener("click", async () => {
          if (!(await confirmAction("Delete recipient", `Delete the recipient ${r.name}?`, "Delete"))) return;
          try {
            await busy(remove, () => soap.removeRecipientConfiguration(r.id));
            say(area, "ok", `The recipient ${r.name} is deleted.`);
          } catch (error) {
            app.fail(error, area);
          }
          await load();
        });
        tools.prepend(test);
        tools.append(copy, remove);
      }
      return h(
        "tr",
        { "data-recipient": r.name },
        h("th", { scope: "row", text: r.name }),
        h("td", { text: RECIPIENT_TYPES[r.token] || r.token }),
        h("td", { class: "wrap-anywhere", text: recipientDetail(r) }),
        tools,
      );
    });
    clear(
      body,
      h(
        "table",
        { id: "recipients-table" },
        h("caption", { text: `${recipients.length} of 20 recipients` }),
        h("thead", {}, h("tr", {}, ["Name", "Type", "Address", ""].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows),
      ),
    );
  }
  add.addEventListener("click", async () => {
    if (await recipientDialog(app, templates, "add", null)) {
      await load();
      say(area, "ok", "The recipient is saved.");
    }
  });
  const section = card(
    "Recipients",
    h("p", { class: "muted", text: "Where notifications and files go. Rules send to a recipient with a notification action." }),
    area,
    body,
  );
  if (admin) section.querySelector("h2").after(h("div", { class: "card-tools" }, add));
  panel.append(section);
  await load();
}

// -- schedules ----------------------------------------------------------------------------------------
const DAYS = [
  ["MO", "Mon"],
  ["TU", "Tue"],
  ["WE", "Wed"],
  ["TH", "Thu"],
  ["FR", "Fri"],
  ["SA", "Sat"],
  ["SU", "Sun"],
];
const UNITS = { MINUTELY: ["minute", "minutes"], HOURLY: ["hour", "hours"], DAILY: ["day", "days"], SECONDLY: ["second", "seconds"] };

function icalFields(ical) {
  const fields = {};
  for (const line of ical.split(/\r?\n|\\n/)) {
    const m = /^([A-Z-]+)(?:;[^:]*)?:(.*)$/.exec(line.trim());
    if (m) fields[m[1]] = m[2].trim();
  }
  return fields;
}

function clockOf(stamp) {
  const m = /T(\d\d)(\d\d)/.exec(stamp || "");
  return m ? `${m[1]}:${m[2]}` : "";
}

function stampDate(stamp) {
  const m = /^(\d{4})(\d\d)(\d\d)(?:T(\d\d)(\d\d)(\d\d)?)?/.exec(stamp || "");
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0))) : null;
}

/** A schedule's iCalendar text in words: "Every day 18:00–18:01", "Every 5 minutes". */
export function describeSchedule(ical) {
  const f = icalFields(ical);
  const rule = Object.fromEntries((f.RRULE || "").split(";").filter(Boolean).map((p) => p.split("=")));
  const start = clockOf(f.DTSTART);
  let end = "";
  const from = stampDate(f.DTSTART);
  if (f.DTEND) end = clockOf(f.DTEND);
  else if (f.DURATION && from) {
    const s = soap.durationSeconds(f.DURATION.replace(/^P(\d+)W/, (_, w) => `P${w * 7}D`));
    const to = new Date(from.getTime() + s * 1000);
    end = `${pad(to.getUTCHours())}:${pad(to.getUTCMinutes())}`;
  }
  const pulse = !f.DTEND && !f.DURATION;
  const interval = Number(rule.INTERVAL || 1);
  if (pulse) {
    const unit = UNITS[rule.FREQ];
    if (unit) {
      const every = interval === 1 ? `Every ${unit[0]}` : `Every ${interval} ${unit[1]}`;
      return start && start !== "00:00" ? `${every} from ${start}` : every;
    }
    if (!rule.FREQ && from) return `Once, ${from.toISOString().slice(0, 10)} ${start}`;
  }
  let days = "";
  if (rule.FREQ === "DAILY" && !rule.BYDAY) days = interval === 1 ? "Every day" : `Every ${interval} days`;
  else if (rule.FREQ === "WEEKLY" || rule.BYDAY) {
    const by = (rule.BYDAY || "").split(",");
    const key = by.join(",");
    days =
      key === "MO,TU,WE,TH,FR" ? "Weekdays" : key === "SA,SU" ? "Weekends" : by.length === 7 ? "Every day" : by.map((d) => DAYS.find((x) => x[0] === d)?.[1] || d).join(", ");
  } else if (!rule.FREQ && from) days = `Once, ${from.toISOString().slice(0, 10)}`;
  if (days && start) return `${days} ${start}–${end}`;
  return f.RRULE ? `${start}–${end}, ${f.RRULE}` : ical;
}

async function deviceDate() {
  try {
    const info = await api.timeInfo();
    const m = /^(\d{4})-(\d\d)-(\d\d)/.exec(info.localDateTime || "");
    if (m) return `${m[1]}${m[2]}${m[3]}`;
  } catch {
    // the browser's date will do
  }
  const d = new Date();
  return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
}

function nextDay(date) {
  const d = new Date(Date.UTC(+date.slice(0, 4), +date.slice(4, 6) - 1, +date.slice(6, 8) + 1));
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
}

async function scheduleDialog(app) {
  const name = h("input", { maxlength: "64", autocomplete: "off" });
  const group = uid("kind");
  const kinds = [
    ["schedule", "Schedule", "Active between a start and an end time on the chosen days."],
    ["pulse", "Pulse", "A short event that repeats, for example every 5 minutes. Use it as a trigger."],
  ].map(([value, label, hint]) => {
    const hintId = uid("hint");
    const radio = h("input", { type: "radio", name: group, value, id: uid("kind"), "aria-describedby": hintId });
    radio.checked = value === "schedule";
    return {
      radio,
      element: h("div", { class: "check" }, radio, h("div", {}, h("label", { for: radio.id, text: label }), h("span", { class: "hint", id: hintId, text: hint }))),
    };
  });
  const days = DAYS.map(([code, label]) => {
    const box = h("input", { type: "checkbox", id: uid("day"), value: code });
    box.checked = true;
    return { box, element: h("label", { class: "day", for: box.id }, box, label) };
  });
  const start = h("input", { type: "time", value: "08:00", required: true });
  const end = h("input", { type: "time", value: "17:00", required: true });
  const scheduleFields = h(
    "div",
    {},
    h("fieldset", { class: "days" }, h("legend", { text: "Days" }), days.map((d) => d.element)),
    h("div", { class: "row-fields" }, field("Start time", start), field("End time", end, "An end before the start ends the next day.")),
  );
  const every = numberInput(5, 1, 1000);
  const unit = select({}, [["MINUTELY", "Minutes"], ["HOURLY", "Hours"], ["DAILY", "Days"]]);
  const from = h("input", { type: "time", value: "00:00" });
  const pulseFields = h("div", { class: "row-fields" }, field("Repeat every", every), field("Unit", unit), field("Starting at", from));
  const sync = () => {
    const pulse = kinds[1].radio.checked;
    scheduleFields.hidden = pulse;
    pulseFields.hidden = !pulse;
  };
  kinds.forEach((k) => k.radio.addEventListener("change", sync));
  sync();
  const area = messageArea();
  const content = h(
    "div",
    { class: "stack" },
    field("Name", name),
    h("fieldset", {}, h("legend", { text: "Type" }), kinds.map((k) => k.element)),
    scheduleFields,
    pulseFields,
    area,
  );
  const onSubmit = async () => {
    const fail = (control, message) => {
      if (control) {
        control.setAttribute("aria-invalid", "true");
        control.focus();
      }
      say(area, "error", message);
      return false;
    };
    content.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
    if (!name.value.trim()) return fail(name, "Enter a name for the schedule.");
    const date = await deviceDate();
    const lines = ["BEGIN:VEVENT"];
    if (kinds[1].radio.checked) {
      if (!/^\d+$/.test(every.value) || Number(every.value) < 1) return fail(every, "Repeat every 1 or more.");
      const t = (from.value || "00:00").replace(":", "");
      lines.push(`DTSTART:${date}T${t}00`);
      lines.push(`RRULE:FREQ=${unit.value};INTERVAL=${Number(every.value)}`);
    } else {
      const chosen = days.filter((d) => d.box.checked).map((d) => d.box.value);
      if (!chosen.length) return fail(days[0].box, "Choose at least one day.");
      if (!start.value) return fail(start, "Enter the start time.");
      if (!end.value) return fail(end, "Enter the end time.");
      if (start.value === end.value) return fail(end, "The end time must differ from the start time.");
      const s = start.value.replace(":", "");
      const e = end.value.replace(":", "");
      lines.push(`DTSTART:${date}T${s}00`);
      lines.push(`DTEND:${end.value > start.value ? date : nextDay(date)}T${e}00`);
      lines.push(chosen.length === 7 ? "RRULE:FREQ=DAILY" : `RRULE:FREQ=WEEKLY;BYDAY=${chosen.join(",")}`);
    }
    lines.push("END:VEVENT");
    try {
      await soap.addScheduledEvent(name.value.trim(), lines.join("\n"));
    } catch (error) {
      app.fail(error, area);
      return false;
    }
    return true;
  };
  const result = await modal({
    title: "Add a schedule",
    content,
    onSubmit,
    buttons: [
      { label: "Cancel", value: "cancel" },
      { label: "Save", value: "save", class: "primary" },
    ],
  });
  return result === "save";
}

async function schedulesPanel(app, panel) {
  const admin = RANK[app.role] >= RANK.admin;
  const area = messageArea();
  const body = h("div", { class: "table-wrap" }, h("p", { class: "muted", text: "Loading…" }));
  const add = h("button", { type: "button", class: "primary", id: "add-schedule" }, "+ Add a schedule");
  async function load() {
    let schedules;
    try {
      schedules = await soap.scheduledEvents();
    } catch (error) {
      app.fail(error, area);
      return;
    }
    if (!schedules.length) {
      clear(body, h("p", { class: "muted", text: "There are no schedules or pulses yet." }));
      return;
    }
    const rows = schedules.map((s) => {
      const f = icalFields(s.ical);
      const pulse = !f.DTEND && !f.DURATION;
      const tools = h("td", { class: "row-actions" });
      if (admin) {
        const remove = h("button", { type: "button", class: "danger-text", "aria-label": `Delete schedule ${s.name}` }, "Delete");
        remove.addEventListener("click", async () => {
          if (!(await confirmAction("Delete schedule", `Delete the ${pulse ? "pulse" : "schedule"} ${s.name}?`, "Delete"))) return;
          try {
            await busy(remove, () => soap.removeScheduledEvent(s.id));
            say(area, "ok", `${s.name} is deleted.`);
          } catch (error) {
            app.fail(error, area);
          }
          await load();
        });
        tools.append(remove);
      }
      return h(
        "tr",
        { "data-schedule": s.name },
        h("th", { scope: "row", text: s.name }),
        h("td", { text: pulse ? "Pulse" : "Schedule" }),
        h("td", { text: describeSchedule(s.ical), title: s.ical }),
        h("td", {}, h("code", { text: s.id })),
        tools,
      );
    });
    clear(
      body,
      h(
        "table",
        { id: "schedules-table" },
        h("caption", { text: "Times are the device's local time." }),
        h("thead", {}, h("tr", {}, ["Name", "Type", "When", "ID", ""].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows),
      ),
    );
  }
  add.addEventListener("click", async () => {
    if (await scheduleDialog(app)) {
      await load();
      say(area, "ok", "The schedule is saved.");
    }
  });
  const section = card(
    "Schedules",
    h("p", { class: "muted", text: "Schedules and pulses can be used as conditions in rules." }),
    area,
    body,
  );
  if (admin) section.querySelector("h2").after(h("div", { class: "card-tools" }, add));
  panel.append(section);
  await load();
}

// -- manual triggers ------------------------------------------------------------------------------------
const VIRTUAL_TOPIC = "tns1:Device/tnsaxis:IO/VirtualInput";

async function triggersPanel(app, panel, topic) {
  const area = messageArea();
  const count = topic.source[0]?.values.length || 32;
  const states = new Map();
  const live = h("span", { class: "live muted", text: "Connecting…" });
  const buttons = [];
  for (let n = 1; n <= count; n += 1) {
    const button = h("button", { type: "button", class: "trigger", "aria-pressed": "false", "aria-label": `Virtual input ${n}`, "data-port": String(n) }, String(n));
    button.addEventListener("click", () =>
      busy(button, async () => {
        const active = !states.get(n);
        try {
          await soap.changeVirtualInput(n, active);
          states.set(n, active);
          show(n);
          say(area, "ok", `Virtual input ${n} is ${active ? "active" : "inactive"}.`);
        } catch (error) {
          app.fail(error, area);
        }
      }),
    );
    buttons.push(button);
  }
  const show = (n) => {
    const on = Boolean(states.get(n));
    const button = buttons[n - 1];
    if (!button) return;
    button.setAttribute("aria-pressed", String(on));
    button.title = on ? `Virtual input ${n} is active: click to deactivate` : `Virtual input ${n} is inactive: click to activate`;
  };
  const section = card(
    "Manual triggers",
    h("p", {
      class: "muted",
      text: "Virtual inputs are conditions you switch by hand, for example to try a rule's action during installation. A pressed button is active.",
    }),
    area,
    h("div", { class: "trigger-grid", role: "group", "aria-label": "Virtual inputs" }, buttons),
  );
  section.querySelector("h2").after(h("div", { class: "card-tools" }, live));
  panel.append(section);
  const stream = api.eventStream([VIRTUAL_TOPIC], {
    onEvent(event) {
      if (event.topic !== VIRTUAL_TOPIC) return;
      const n = Number(event.source.port);
      states.set(n, event.data.active === "1" || event.data.active === "true");
      show(n);
    },
    onStatus(status) {
      live.textContent = status === "open" ? "Live" : "Not live: reopen the tab to update";
      live.className = status === "open" ? "live on" : "live muted";
    },
  });
  return () => stream.close();
}

// -- the page -------------------------------------------------------------------------------------------
export default async function eventsPage(container, app) {
  const area = messageArea();
  container.append(area);
  let topics = [];
  try {
    topics = await soap.eventInstances();
  } catch (error) {
    app.fail(error, area);
  }
  const virtual = topics.find((t) => t.topic === VIRTUAL_TOPIC);
  const tabsSpec = [
    ["rules", "Rules", (panel) => rulesPanel(app, panel)],
    ["schedules", "Schedules", (panel) => schedulesPanel(app, panel)],
    ["recipients", "Recipients", (panel) => recipientsPanel(app, panel)],
  ];
  if (virtual) tabsSpec.push(["triggers", "Manual triggers", (panel) => triggersPanel(app, panel, virtual)]);
  const panelId = uid("panel");
  const tabs = tabsSpec.map(([id, label]) =>
    h("button", { type: "button", role: "tab", id: `events-tab-${id}`, "aria-controls": panelId, "data-tab": id }, label),
  );
  const panel = h("div", { role: "tabpanel", id: panelId, class: "tab-panel" });
  container.append(h("div", { role: "tablist", "aria-label": "Events", class: "tabs page-tabs" }, tabs), panel);
  let cleanup = null;

  async function choose(id, focus = false) {
    if (cleanup) cleanup();
    cleanup = null;
    for (const tab of tabs) {
      const on = tab.dataset.tab === id;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      if (on && focus) tab.focus();
    }
    panel.setAttribute("aria-labelledby", `events-tab-${id}`);
    clear(panel);
    const spec = tabsSpec.find((t) => t[0] === id);
    const result = await spec[2](panel);
    if (typeof result === "function") cleanup = result;
  }
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => choose(tab.dataset.tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      event.preventDefault();
      choose(tabs[(index + step + tabs.length) % tabs.length].dataset.tab, true);
    });
  });
  api.whenGone(container, () => cleanup && cleanup());
  await choose("rules");
}
