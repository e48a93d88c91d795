// Security > Firewall (the manual's Firewall section): turn the firewall on, the default policy,
// the FILTER rules (address, range or CIDR network, MAC, protocol and port or port range, traffic
// type), and "Test rules" for a time with a countdown, then "Keep the rules" or "Roll back"; left
// alone, the device rolls back by itself. "Apply rules" applies without a test. Everything goes
// through the Firewall configuration API (/config/rest/firewall/v1), which checks it all again.

import * as api from "./api.js";
import { busy, card, checkbox, clear, confirmAction, facts, field, h, invalid, messageArea, numberInput, say, select } from "./ui.js";

const ROOT = "/config/rest/firewall/v1";
const DEFAULT_TEST_SECONDS = 300;
const REFRESH_MS = 2000;

/** A call of the Device Configuration API: its data, or an ApiError with the device's message. */
async function rest(path, method = "GET", data = undefined) {
  const options = { method, allow: [400, 404] };
  if (data !== undefined) {
    options.headers = { "Content-Type": "application/json" };
    options.body = JSON.stringify({ data });
  }
  const response = await api.request(ROOT + path, options);
  const body = await response.json();
  if (body.status !== "success") throw new api.ApiError(`${body.error?.message || "Refused"} (error ${body.error?.code})`, response.status);
  return body.data;
}

/** A rule as one line of text: "DROP 192.168.0.0/24, TCP port 80". */
export function describe(rule) {
  const parts = [];
  if (rule.ip) parts.push(`from ${rule.ip}`);
  if (rule.ipRange) parts.push(`from ${rule.ipRange.start} to ${rule.ipRange.end}`);
  if (rule.mac) parts.push(`from MAC ${rule.mac}`);
  if (rule.pktType) parts.push(rule.pktType.toLowerCase());
  if (rule.tcpPort) parts.push(`TCP port ${rule.tcpPort}`);
  if (rule.udpPort) parts.push(`UDP port ${rule.udpPort}`);
  if (rule.port) parts.push(`${rule.port.portType === "BOTH" ? "TCP and UDP" : rule.port.portType} port ${rule.port.portNum}`);
  if (rule.portRange) {
    const kind = rule.portRange.portType === "BOTH" ? "TCP and UDP" : rule.portRange.portType;
    parts.push(`${kind} ports ${rule.portRange.start}-${rule.portRange.end}`);
  }
  return `${rule.filter?.policy || "?"} ${parts.join(", ") || "everything"}`;
}

function rulesTable(rules, defaultPolicy, caption) {
  const rows = rules.map((rule, i) => h("tr", {}, h("td", { text: String(i + 1) }), h("td", { text: describe(rule) })));
  rows.push(h("tr", {}, h("td", { text: "—" }), h("td", { text: `Default policy: ${defaultPolicy}` })));
  return h("div", { class: "table-wrap" }, h("table", {},
    h("caption", { text: caption }),
    h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "#" }), h("th", { scope: "col", text: "Rule" }))),
    h("tbody", {}, rows)));
}

// -- the rule editor ------------------------------------------------------------------------------------------
function input(value, label, attrs = {}) {
  return h("input", { value: value ?? "", autocomplete: "off", spellcheck: "false", "aria-label": label, ...attrs });
}

function ruleRow(rule, onRemove) {
  const policy = select({ "aria-label": "Policy", "data-field": "policy" }, [["ACCEPT", "Accept"], ["DROP", "Drop"]]);
  policy.value = rule.filter?.policy || "ACCEPT";
  const source = select({ "aria-label": "Source", "data-field": "source" },
    [["any", "Any address"], ["ip", "IP address or network"], ["range", "IP range"]]);
  source.value = rule.ipRange ? "range" : rule.ip ? "ip" : "any";
  const ip = input(rule.ip, "IP address or network", { placeholder: "192.168.0.10 or 192.168.0.0/24", "data-field": "ip" });
  const start = input(rule.ipRange?.start, "Range start", { placeholder: "Start", "data-field": "start" });
  const end = input(rule.ipRange?.end, "Range end", { placeholder: "End", "data-field": "end" });
  const mac = input(rule.mac, "MAC address", { placeholder: "00:1B:63:84:45:E6", "data-field": "mac" });
  const protocol = select({ "aria-label": "Protocol", "data-field": "protocol" },
    [["", "Any"], ["TCP", "TCP"], ["UDP", "UDP"], ["BOTH", "Both"]]);
  const port = input("", "Port or port range", { placeholder: "80 or 161-162", inputmode: "numeric", "data-field": "port" });
  if (rule.tcpPort) [protocol.value, port.value] = ["TCP", String(rule.tcpPort)];
  if (rule.udpPort) [protocol.value, port.value] = ["UDP", String(rule.udpPort)];
  if (rule.port) [protocol.value, port.value] = [rule.port.portType, String(rule.port.portNum)];
  if (rule.portRange) [protocol.value, port.value] = [rule.portRange.portType, `${rule.portRange.start}-${rule.portRange.end}`];
  const traffic = select({ "aria-label": "Traffic type", "data-field": "traffic" },
    [["", "Any"], ["UNICAST", "Unicast"], ["MULTICAST", "Multicast"], ["BROADCAST", "Broadcast"]]);
  traffic.value = rule.pktType || "";
  const remove = h("button", { type: "button", class: "danger" }, "Remove");
  const showSource = () => {
    ip.hidden = source.value !== "ip";
    start.hidden = end.hidden = source.value !== "range";
  };
  source.addEventListener("change", showSource);
  showSource();
  const row = h("tr", {}, h("td", {}, policy), h("td", {}, source, ip, start, end), h("td", {}, mac),
    h("td", {}, protocol, port), h("td", {}, traffic), h("td", {}, remove));
  remove.addEventListener("click", () => onRemove(row));

  /** The rule as the API takes it; an `invalid` Error naming the control when it is incomplete. */
  row.read = () => {
    const out = { ruleType: "FILTER", filter: { policy: policy.value } };
    if (source.value === "ip") {
      if (!ip.value.trim()) throw invalid(ip, "Enter an IP address or a network (CIDR).");
      out.ip = ip.value.trim();
    }
    if (source.value === "range") {
      if (!start.value.trim()) throw invalid(start, "Enter the first address of the range.");
      if (!end.value.trim()) throw invalid(end, "Enter the last address of the range.");
      out.ipRange = { start: start.value.trim(), end: end.value.trim() };
    }
    if (mac.value.trim()) out.mac = mac.value.trim();
    if (traffic.value) out.pktType = traffic.value;
    const text = port.value.trim();
    if (protocol.value && !text) throw invalid(port, "A protocol needs a port or a port range.");
    if (text && !protocol.value) throw invalid(protocol, "Choose the protocol of the port.");
    if (text) {
      const match = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(text);
      if (!match) throw invalid(port, "A port is a number from 1 to 65535; a range is two, like 161-162.");
      const [first, last] = [Number(match[1]), Number(match[2] ?? match[1])];
      for (const n of [first, last]) if (n < 1 || n > 65535) throw invalid(port, "Ports are from 1 to 65535.");
      if (first > last) throw invalid(port, "The range starts after it ends.");
      if (first !== last) out.portRange = { portType: protocol.value, start: first, end: last };
      else if (protocol.value === "TCP") out.tcpPort = first;
      else if (protocol.value === "UDP") out.udpPort = first;
      else out.port = { portType: protocol.value, portNum: first };
    }
    return out;
  };
  return row;
}

// -- the panel ------------------------------------------------------------------------------------------------
export async function firewallPanel(app, panel) {
  const area = messageArea();
  panel.append(area);
  let state;
  try {
    state = await rest("");
  } catch (error) {
    app.fail(error, area);
    return undefined;
  }

  // On or off.
  const onArea = messageArea();
  const on = checkbox("Firewall", state.activated, "Turn on to filter what comes in by the rules below.");
  const saveOn = h("button", { type: "submit", class: "primary" }, "Save");
  const onForm = h("form", { novalidate: true, "aria-label": "Firewall on or off" }, on.element,
    h("div", { class: "form-footer" }, onArea, h("div", { class: "actions" }, saveOn)));
  onForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(saveOn, async () => {
      try {
        await rest("/activated", "PATCH", on.box.checked);
        say(onArea, "ok", on.box.checked ? "The firewall is on." : "The firewall is off.");
        await refresh();
      } catch (error) {
        app.fail(error, onArea);
      }
    });
  });

  // The editor, filled with the rules in force now (those under test while a test runs).
  const editArea = messageArea();
  const rules = state.conf.rules;
  const shown = rules.pendingDefaultPolicy ? rules.pendingRules : rules.activeRules;
  const policy = select({ id: "firewall-default-policy" }, [["ACCEPT", "Accept: allow what no rule covers"], ["DROP", "Drop: block what no rule covers"]]);
  policy.value = rules.pendingDefaultPolicy || rules.activeDefaultPolicy;
  const body = h("tbody", {});
  const addRow = (rule) => body.append(ruleRow(rule, (row) => row.remove()));
  shown.forEach(addRow);
  const newRule = h("button", { type: "button" }, "+ New rule");
  newRule.addEventListener("click", () => {
    addRow({ filter: { policy: "ACCEPT" } });
    body.lastElementChild.querySelector("select").focus();
  });
  const table = h("div", { class: "table-wrap" }, h("table", { class: "io-table", id: "firewall-rules" },
    h("caption", { text: "The first rule that matches decides; then the default policy." }),
    h("thead", {}, h("tr", {}, ["Policy", "Source", "MAC", "Protocol and port", "Traffic type", ""].map((t) => h("th", { scope: "col", text: t })))),
    body));
  const seconds = numberInput(DEFAULT_TEST_SECONDS, 1, 86400);
  seconds.id = "firewall-test-seconds";
  const test = h("button", { type: "submit", class: "primary", value: "test" }, "Test rules");
  const apply = h("button", { type: "submit", value: "apply" }, "Apply rules");
  const editor = h("form", { novalidate: true, id: "firewall-editor", "aria-label": "Firewall rules" },
    field("Default policy", policy), table, h("div", { class: "actions" }, newRule),
    field("Test time in seconds", seconds, "The rules apply for this long; without “Keep the rules” the firewall goes back to the rules it had."),
    h("div", { class: "form-footer" }, editArea, h("div", { class: "actions" }, test, apply)));

  function read() {
    for (const control of editor.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
    return { rules: [...body.children].map((row) => row.read()), defaultPolicy: policy.value };
  }
  editor.addEventListener("submit", async (event) => {
    event.preventDefault();
    const testing = (event.submitter?.value || "test") === "test";
    const button = testing ? test : apply;
    await busy(button, async () => {
      try {
        const wanted = read();
        let time = 0;
        if (testing) {
          time = Number(seconds.value);
          if (!Number.isInteger(time) || time < 1 || time > 86400) throw invalid(seconds, "The test time is a whole number of seconds from 1 to 86400.");
        } else if (!(await confirmAction("Apply without a test?", "The rules apply at once and stay. We recommend testing them first: a mistake could lock you out.", "Apply rules"))) {
          return;
        }
        await rest("/conf/setRules", "POST", { ...wanted, fallbackTime: time });
        say(editArea, "ok", testing ? `The rules are under test for ${time} s.` : "The rules are applied.");
        await refresh();
      } catch (error) {
        if (error.control) {
          error.control.setAttribute("aria-invalid", "true");
          error.control.focus();
          say(editArea, "error", error.message);
        } else {
          app.fail(error, editArea);
        }
      }
    });
  });

  // The test under way, and the rules in force.
  const testArea = messageArea();
  testArea.id = "firewall-test-message";
  const countdown = h("p", { id: "firewall-countdown", "aria-live": "polite" });
  const keep = h("button", { type: "button", class: "primary" }, "Keep the rules");
  const rollBack = h("button", { type: "button", class: "danger" }, "Roll back");
  const pendingBox = h("div", {});
  const testCard = card("Rules under test", countdown, pendingBox, h("div", { class: "actions" }, keep, rollBack));
  testCard.id = "firewall-test";
  const activeBox = h("div", {});
  const statusBox = h("div", {});
  panel.append(
    card("Firewall", onForm),
    testArea,
    testCard,
    card("Rules", editor),
    card("Confirmed rules", statusBox, activeBox),
  );

  let left = 0;
  let testing = false;
  function show(current) {
    const r = current.conf.rules;
    on.box.checked = current.activated;
    clear(statusBox, facts([["Firewall", current.activated ? "On" : "Off"]]));
    clear(activeBox, rulesTable(r.activeRules, r.activeDefaultPolicy, "Confirmed (active) rules"));
    const pending = r.pendingDefaultPolicy !== null;
    if (testing && !pending) say(testArea, "info", "The test time ran out: the firewall went back to the confirmed rules.");
    testing = pending;
    testCard.hidden = !pending;
    if (pending) {
      left = r.testTimeLeft;
      clear(pendingBox, rulesTable(r.pendingRules, r.pendingDefaultPolicy, "Pending rules (under test)"));
      tickText();
    }
  }
  function tickText() {
    countdown.textContent = `The rules under test roll back in ${left} s unless you keep them.`;
  }
  async function refresh() {
    try {
      show(await rest(""));
    } catch (error) {
      if (testing) {
        say(testArea, "error", "The device does not answer: the rules under test may block this browser. They roll back by themselves when the time runs out.");
      } else {
        app.fail(error, testArea);
      }
    }
  }
  keep.addEventListener("click", () => busy(keep, async () => {
    try {
      await rest("/conf/confirmRules", "POST", {});
      testing = false;
      say(testArea, "ok", "The rules are kept.");
      await refresh();
    } catch (error) {
      app.fail(error, testArea);
      await refresh();
    }
  }));
  rollBack.addEventListener("click", () => busy(rollBack, async () => {
    try {
      await rest("/conf/clearPendingRules", "POST", {});
      testing = false;
      say(testArea, "ok", "Rolled back: the firewall is on the confirmed rules.");
      await refresh();
    } catch (error) {
      app.fail(error, testArea);
      await refresh();
    }
  }));
  show(state);
  const ticker = setInterval(() => {
    if (!testing) return;
    left = Math.max(0, left - 1);
    tickText();
  }, 1000);
  const poller = setInterval(() => { if (testing) refresh(); }, REFRESH_MS);
  return () => {
    clearInterval(ticker);
    clearInterval(poller);
  };
}
