// Small DOM helpers shared by the pages. Text always goes in as text, never as HTML.

/**
 * h("button", {class: "primary", onclick: fn}, "Save") builds an element.
 * Attributes: `class`, `text`, `on<event>` (listeners), booleans (set when true), others as attributes.
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "text") element.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2), value);
    else if (key === "value") element.value = value;
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

let uniqueCounter = 0;
export function uid(prefix = "id") {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

/**
 * A message area that screen readers announce. kind: "error" | "ok" | "info".
 * Returns the element; `say(area, kind, text)` changes it later.
 */
export function messageArea() {
  return h("div", { class: "message", role: "status", "aria-live": "polite", hidden: true });
}

export function say(area, kind, text) {
  area.className = `message ${kind}`;
  area.setAttribute("role", kind === "error" ? "alert" : "status");
  area.textContent = text || "";
  area.hidden = !text;
}

/** A labelled form field: label, control, optional hint. */
export function field(labelText, control, hint) {
  if (!control.id) control.id = uid("field");
  const parts = [h("label", { for: control.id, text: labelText }), control];
  if (hint) {
    const hintId = uid("hint");
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("p", { class: "hint", id: hintId, text: hint }));
  }
  return h("div", { class: "field" }, parts);
}

/** <select> of [value, label] choices, optionally in groups: [[group, [[value, label]...]]...]. */
export function select(attrs, choices, grouped = false) {
  const option = ([value, label, extra = {}]) => h("option", { value, text: label, ...extra });
  const element = h("select", attrs, grouped ? choices.map(([group, list]) => h("optgroup", { label: group }, list.map(option))) : choices.map(option));
  return element;
}

/** A checkbox with its label and an optional hint: { box, element }. */
export function checkbox(label, checked = false, hint = null) {
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

/** An input for a whole number from min to max. */
export function numberInput(value, min, max) {
  return h("input", { type: "number", inputmode: "numeric", step: "1", min: String(min), max: String(max), value: String(value) });
}

/** An Error for a form: `error.control` is the control to mark invalid and focus. */
export function invalid(control, message) {
  const error = new Error(message);
  error.control = control;
  return error;
}

/** Two digits, for times: 7 -> "07". */
export const pad = (n) => String(n).padStart(2, "0");

export function card(title, ...children) {
  const headingId = uid("card");
  return h("section", { class: "card", "aria-labelledby": headingId }, h("h2", { id: headingId, text: title }), children);
}

/**
 * A page's tabs over one panel: `entries` are [id, label, render(panel)]; a render may return a
 * function to call when its tab is left. Arrow keys move between the tabs. With `route` (e.g.
 * "network") the address names the tab (#/network/ports), so that a reload comes back to it.
 * Shows the tab the address names (or `first`, or the first tab); returns the function that
 * ends the shown tab (call it when the page goes).
 */
export async function pageTabs(container, name, entries, { route = null, first = null } = {}) {
  const key = name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  const panelId = uid("panel");
  const tabs = entries.map(([id, label]) =>
    h("button", { type: "button", role: "tab", id: `${key}-tab-${id}`, "aria-controls": panelId, "data-tab": id }, label),
  );
  const panel = h("div", { role: "tabpanel", id: panelId, class: "tab-panel" });
  container.append(h("div", { role: "tablist", "aria-label": name, class: "tabs page-tabs" }, tabs), panel);
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
    panel.setAttribute("aria-labelledby", `${key}-tab-${id}`);
    if (route) history.replaceState(null, "", `#/${route}/${id}`);
    clear(panel);
    const result = await entries.find((t) => t[0] === id)[2](panel);
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
  const named = route ? location.hash.split("/")[2] : null;
  const start = entries.some((t) => t[0] === named) ? named : first || entries[0][0];
  await choose(start);
  return () => cleanup && cleanup();
}

/** A definition list from [term, value] pairs; values may be nodes. */
export function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.filter(Boolean).map(([term, value]) => [h("dt", { text: term }), h("dd", {}, value ?? "—")]),
  );
}

/**
 * A modal dialog around `content`; resolves with the value of the button that closed it,
 * or null (Cancel, Escape). With `onSubmit`, the dialog stays open until it returns true.
 */
export function modal({ title, content, buttons, wide = false, onSubmit = null }) {
  return new Promise((resolve) => {
    const headingId = uid("dialog");
    const dialog = h("dialog", { class: wide ? "wide" : "", "aria-labelledby": headingId });
    const form = h("form", { novalidate: true });
    const actions = h(
      "div",
      { class: "actions" },
      buttons.map((b) =>
        h("button", { value: b.value, class: b.class || "", type: b.value === "cancel" ? "button" : "submit" }, b.label),
      ),
    );
    form.append(h("h2", { id: headingId, text: title }), content, actions);
    dialog.append(form);
    let result = null;
    const cancel = actions.querySelector("button[value=cancel]");
    if (cancel) cancel.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const value = event.submitter ? event.submitter.value : buttons[buttons.length - 1].value;
      if (onSubmit) {
        const submit = event.submitter || actions.lastElementChild;
        const done = await busy(submit, () => onSubmit(value));
        if (!done) return;
      }
      result = value;
      dialog.close();
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Ask before doing something that cannot be undone. */
export async function confirmAction(title, text, confirmLabel, danger = true) {
  const answer = await modal({
    title,
    content: h("p", { text }),
    buttons: [
      { label: "Cancel", value: "cancel" },
      { label: confirmLabel, value: "ok", class: danger ? "danger" : "primary" },
    ],
  });
  return answer === "ok";
}

/** Offer a blob as a file download. */
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Disable a button while an async action runs. */
export async function busy(button, action) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** "2026-11-23T12:00:00Z" in the browser's locale, or the text as it came. */
export function localTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export const ROLE_NAMES = { admin: "Administrator", operator: "Operator", viewer: "Viewer", anonymous: "Anonymous" };
export const RANK = { anonymous: 0, viewer: 1, operator: 2, admin: 3 };

// The account rules of the manual, checked before the device checks them again.
export const NAME_RULE = /^[A-Za-z0-9_]{1,14}$/;
const NAME_TEXT = "Enter an account name of 1 to 14 letters, digits or underscores.";

export function passwordProblem(password) {
  if (password.length < 1 || password.length > 64) return "Passwords must be 1 to 64 characters long.";
  if ([...password].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) > 126)) {
    return "Only printable ASCII characters (code 32 to 126) are allowed in the password.";
  }
  return null;
}

/**
 * The first problem of an account form, as [control, message], or null. A new account needs a
 * name that `rule` accepts and a password; an existing one may leave the password empty to keep it.
 */
export function accountProblem(name, password, repeat, { adding = true, rule = NAME_RULE, ruleText = NAME_TEXT } = {}) {
  if (adding && !rule.test(name.value)) return [name, ruleText];
  const weak = adding || password.value ? passwordProblem(password.value) : null;
  if (weak) return [password, weak];
  if (repeat.value !== password.value) return [repeat, "The passwords do not match."];
  return null;
}

/** Marks `bad` (one of `controls`) as the invalid one and moves the focus to it; null clears the marks. */
export function markInvalid(controls, bad) {
  for (const control of controls) control.removeAttribute("aria-invalid");
  if (bad) {
    bad.setAttribute("aria-invalid", "true");
    bad.focus();
  }
}
