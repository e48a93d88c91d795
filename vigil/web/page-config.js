// Plain config: every parameter this account may read, by group, each with an input that
// fits its type. Save sends the changed ones in one param.cgi update: all or nothing.

import * as api from "./api.js";
import { busy, h, messageArea, say, uid } from "./ui.js";

function control(definition, writable) {
  const d = definition;
  const common = { name: d.name, id: uid("param") };
  if (!writable) {
    return h("input", { ...common, type: "text", readonly: true, value: d.value, class: "readonly" });
  }
  if (d.kind === "bool" || d.kind === "enum") {
    const choices = [...d.choices];
    if (!choices.includes(d.value)) choices.unshift(d.value);
    const select = h("select", common, choices.map((c) => h("option", { value: c, text: c })));
    select.value = d.value;
    return select;
  }
  if (d.kind === "int") {
    return h("input", {
      ...common,
      type: "number",
      step: "1",
      inputmode: "numeric",
      min: d.min ?? null,
      max: d.max ?? null,
      value: d.value,
    });
  }
  if (d.kind === "password") {
    return h("input", {
      ...common,
      type: "password",
      autocomplete: "new-password",
      placeholder: "Unchanged",
      maxlength: d.maxlen ?? null,
      value: "",
    });
  }
  return h("input", { ...common, type: "text", maxlength: d.maxlen ?? null, value: d.value, spellcheck: "false" });
}

function describe(d) {
  if (d.kind === "int") {
    const range = d.min !== null && d.max !== null ? ` ${d.min} to ${d.max}` : "";
    return `Integer${range}`;
  }
  if (d.kind === "bool") return `${d.choices[0]} or ${d.choices[1]}`;
  if (d.kind === "enum") return `One of: ${d.choices.join(", ")}`;
  if (d.kind === "password") return "Password; leave empty to keep it";
  return d.maxlen ? `Text, at most ${d.maxlen} characters` : "Text";
}

export default async function configPage(container, app) {
  container.append(
    h("p", {
      class: "muted intro",
      text: "Plain config is for advanced users. Most parameters can be set and edited here; changes take effect when you save.",
    }),
  );
  const definitions = await api.paramDefinitions();
  const tops = [...new Set(definitions.map((d) => d.name.split(".")[0]))];
  const entries = []; // {definition, input, row, top, writable}
  const sections = []; // {element, top}
  const form = h("form", { novalidate: true, id: "config-form", class: "config-form" });

  let group = null;
  let section = null;
  for (const d of definitions) {
    if (d.group !== group) {
      group = d.group;
      const top = group.split(".")[0];
      section = h("section", { class: "param-group", "data-group": group }, h("h3", { text: group }));
      sections.push({ element: section, top });
      form.append(section);
    }
    const writable = api.canWrite(d, app.role);
    const input = control(d, writable);
    const fullId = uid("name");
    const hintId = uid("kind");
    input.setAttribute("aria-describedby", `${fullId} ${hintId}`);
    const row = h(
      "div",
      { class: "param-row", "data-name": d.name.toLowerCase() },
      h("div", { class: "param-label" }, h("label", { for: input.id, text: d.nice }), h("code", { id: fullId, text: `root.${d.name}` })),
      h("div", { class: "param-input" }, input, h("span", { class: "hint", id: hintId, text: writable ? describe(d) : "Read-only" })),
    );
    section.append(row);
    entries.push({ definition: d, input, row, top: d.name.split(".")[0], writable, original: d.kind === "password" ? "" : d.value });
  }

  // -- group list and filter ------------------------------------------------------------
  let current = tops.includes("Network") ? "Network" : tops[0];
  const filter = h("input", { type: "search", id: "param-filter", placeholder: "Name contains…", autocomplete: "off" });
  const groupButtons = tops.map((top) => {
    const count = entries.filter((e) => e.top === top).length;
    const button = h("button", { type: "button", "data-group": top }, top, h("span", { class: "count", text: String(count) }));
    button.addEventListener("click", () => {
      current = top;
      filter.value = "";
      show();
    });
    return button;
  });
  const noMatch = h("p", { class: "muted", hidden: true, text: "No parameter matches." });

  function show() {
    const needle = filter.value.trim().toLowerCase();
    for (const b of groupButtons) {
      if (!needle && b.dataset.group === current) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    }
    let shown = 0;
    for (const e of entries) {
      e.row.hidden = needle ? !e.row.dataset.name.includes(needle) : e.top !== current;
      if (!e.row.hidden) shown += 1;
    }
    for (const s of sections) s.element.hidden = ![...s.element.querySelectorAll(".param-row")].some((r) => !r.hidden);
    noMatch.hidden = shown > 0;
  }
  filter.addEventListener("input", show);

  // -- changes and saving -----------------------------------------------------------------
  const area = messageArea();
  const pending = h("span", { class: "muted", "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "primary", id: "save-params" }, "Save");
  const discard = h("button", { type: "button" }, "Discard changes");

  const changed = () => entries.filter((e) => e.writable && e.input.value !== e.original);
  function refreshPending() {
    for (const e of entries) e.row.classList.toggle("changed", e.writable && e.input.value !== e.original);
    const n = changed().length;
    pending.textContent = n ? `${n} unsaved change${n === 1 ? "" : "s"}` : "";
  }
  form.addEventListener("input", refreshPending);
  form.addEventListener("change", refreshPending);

  discard.addEventListener("click", () => {
    for (const e of entries) {
      e.input.value = e.original;
      e.input.removeAttribute("aria-invalid");
    }
    refreshPending();
    say(area, "", "");
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const edits = changed();
    for (const e of entries) e.input.removeAttribute("aria-invalid");
    if (!edits.length) {
      say(area, "info", "Nothing to save: no parameter was changed.");
      return;
    }
    const values = Object.fromEntries(edits.map((e) => [e.definition.name, e.input.value]));
    try {
      await busy(save, () => api.updateParams(values));
    } catch (error) {
      app.fail(error, area);
      // Point at the parameter the device named, e.g. "Error setting 'root.HTTPS.Port' to ...".
      const named = /'root\.([^']+)'/.exec(error.message);
      const culprit = named && edits.find((e) => e.definition.name.toLowerCase() === named[1].toLowerCase());
      if (culprit) {
        culprit.input.setAttribute("aria-invalid", "true");
        if (culprit.row.hidden) {
          current = culprit.top;
          filter.value = "";
          show();
        }
      }
      return;
    }
    for (const e of edits) {
      if (e.definition.kind === "password") e.input.value = "";
      else e.original = e.input.value;
    }
    refreshPending();
    const names = edits.map((e) => `root.${e.definition.name}`).join(", ");
    say(area, "ok", `Saved: ${names}.`);
    if (values["System.Theme"]) app.applyTheme(values["System.Theme"]);
  });

  const side = h(
    "div",
    { class: "config-side" },
    h("label", { for: filter.id, text: "Find parameter" }),
    filter,
    h("nav", { "aria-label": "Parameter groups" }, h("ul", { class: "group-list" }, groupButtons.map((b) => h("li", {}, b)))),
  );
  const bar = h("div", { class: "save-bar" }, h("div", { class: "save-buttons" }, save, discard, pending), area);
  form.append(noMatch);
  container.append(h("div", { class: "config" }, side, h("div", { class: "config-main" }, form, bar)));
  // The save bar sits outside the form element for layout; tie it to the form.
  save.setAttribute("form", form.id);
  show();
}
