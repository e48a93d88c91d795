// Logs: the system, access and audit logs as the device writes them, with a text filter, and
// the remote system log (logs-syslog.js).

import * as api from "./api.js";
import { syslogCard } from "./logs-syslog.js";
import { busy, card, download, field, h, messageArea, say, uid } from "./ui.js";

const KINDS = [
  ["system", "System log", "Device startup, warnings and critical messages."],
  ["access", "Access log", "Failed attempts to access the device, such as a wrong password."],
  ["audit", "Audit log", "Who changed what: logins, accounts, settings and maintenance."],
];
const FILTER_RULE = /^[A-Za-z0-9 ._:-]*$/;

export default async function logsPage(container, app) {
  let kind = "system";
  let lastText = "";
  const area = messageArea();
  const summary = h("p", { class: "muted", id: uid("summary") });
  const panelId = uid("panel");
  const output = h("pre", { class: "log", tabindex: "0", id: "log-output", "aria-describedby": summary.id });

  const tabs = KINDS.map(([value, label]) =>
    h("button", { type: "button", role: "tab", id: `tab-${value}`, "aria-controls": panelId, "data-kind": value }, label),
  );
  const tablist = h("div", { role: "tablist", "aria-label": "Logs", class: "tabs" }, tabs);
  const description = h("p", { class: "muted" });

  const filter = h("input", { type: "search", name: "text", id: "log-filter", autocomplete: "off", maxlength: "64" });
  const show = h("button", { type: "submit", class: "primary" }, "Show");
  const refresh = h("button", { type: "button" }, "Refresh");
  const save = h("button", { type: "button" }, "Download");
  const form = h(
    "form",
    { class: "inline-form", role: "search", novalidate: true },
    field("Show lines containing", filter, "Letters, digits, spaces and . _ - : only."),
    h("div", { class: "actions" }, show, refresh, save),
  );

  async function load() {
    const text = filter.value.trim();
    if (!FILTER_RULE.test(text)) {
      filter.setAttribute("aria-invalid", "true");
      say(area, "error", "The filter may hold letters, digits, spaces and . _ - : only.");
      return;
    }
    filter.removeAttribute("aria-invalid");
    try {
      lastText = await api.logText(kind, text);
    } catch (error) {
      app.fail(error, area);
      return;
    }
    say(area, "", "");
    output.textContent = lastText || "(empty)";
    const lines = lastText ? lastText.replace(/\n$/, "").split("\n").length : 0;
    summary.textContent = `${lines} line${lines === 1 ? "" : "s"}${text ? ` containing “${text}”` : ""}.`;
    output.scrollTop = output.scrollHeight; // the newest entries are at the end
  }

  function select(value, focus = false) {
    kind = value;
    for (const tab of tabs) {
      const on = tab.dataset.kind === value;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      if (on && focus) tab.focus();
    }
    panel.setAttribute("aria-labelledby", `tab-${value}`);
    description.textContent = KINDS.find((k) => k[0] === value)[2];
    return load();
  }

  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => select(tab.dataset.kind));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      event.preventDefault();
      select(tabs[(index + step + tabs.length) % tabs.length].dataset.kind, true);
    });
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(show, load);
  });
  refresh.addEventListener("click", () => busy(refresh, load));
  save.addEventListener("click", () => download(new Blob([lastText], { type: "text/plain" }), `${kind}log.txt`));

  const panel = h("div", { role: "tabpanel", id: panelId }, description, form, area, output, summary);
  container.append(card("Device logs", tablist, panel));
  await select(kind);
  container.append(await syslogCard(app));
}
