// Accounts: list, add, update and delete accounts (pwdgrp.cgi), ONVIF accounts
// (accounts-onvif.js), anonymous access, SSH accounts (accounts-ssh.js), OpenID
// (accounts-oidc.js) and the virtual hosts (accounts-virtualhost.js).

import { ccgCard, oidcCard } from "./accounts-oidc.js";
import { onvifCard } from "./accounts-onvif.js";
import { sshCard } from "./accounts-ssh.js";
import { virtualHostCard } from "./accounts-virtualhost.js";
import * as api from "./api.js";
import {
  ROLE_NAMES,
  accountProblem,
  busy,
  card,
  clear,
  confirmAction,
  field,
  h,
  markInvalid,
  messageArea,
  modal,
  say,
  uid,
} from "./ui.js";

const PRIVILEGES = [
  ["admin", "Administrator", "Full access to all settings, and can add, update and remove other accounts."],
  ["operator", "Operator", "Access to all settings except the System settings."],
  ["viewer", "Viewer", "Can watch, but not change any settings."],
];
const PROTECTED = "root";

/** The add / update form; resolves with {name, self} once the device accepted it, or null. */
async function accountDialog(app, existing) {
  const adding = !existing;
  const name = h("input", { name: "account", autocomplete: "off", maxlength: "14", value: existing?.name || "" });
  if (!adding) name.readOnly = true;
  const password = h("input", { name: "new-password", type: "password", autocomplete: "new-password" });
  const repeat = h("input", { name: "repeat-password", type: "password", autocomplete: "new-password" });
  const group = uid("privilege");
  const radios = PRIVILEGES.map(([value, label, description]) => {
    const radio = h("input", { type: "radio", name: group, value, id: uid("role") });
    radio.checked = (existing?.role || "viewer") === value;
    const hintId = uid("hint");
    radio.setAttribute("aria-describedby", hintId);
    return h(
      "div",
      { class: "check" },
      radio,
      h("label", { for: radio.id }, h("strong", { text: label }), h("span", { class: "hint", id: hintId, text: description })),
    );
  });
  const ptz = h("input", { type: "checkbox", name: "ptz", id: uid("ptz") });
  ptz.checked = Boolean(existing?.ptz);
  const area = messageArea();
  const content = h(
    "div",
    { class: "stack" },
    field("Account", name, adding ? "1 to 14 letters, digits or underscores." : null),
    field(
      "New password",
      password,
      adding ? "1 to 64 printable ASCII characters." : "Leave empty to keep the current password.",
    ),
    field("Repeat password", repeat),
    h("fieldset", {}, h("legend", { text: "Privileges" }), radios),
    h("div", { class: "check" }, ptz, h("label", { for: ptz.id, text: "PTZ control" })),
    area,
  );
  const onSubmit = async () => {
    const role = content.querySelector(`input[name="${group}"]:checked`).value;
    const problem = accountProblem(name, password, repeat, { adding });
    markInvalid([name, password, repeat], problem?.[0]);
    if (problem) {
      say(area, "error", problem[1]);
      return false;
    }
    const fields = { action: adding ? "add" : "update", user: name.value };
    if (adding) fields.grp = "users";
    if (password.value) fields.pwd = password.value;
    if (adding || role !== existing.role || ptz.checked !== existing.ptz) {
      fields.sgrp = api.secondaryGroups(role, ptz.checked);
    }
    if (!adding && !fields.pwd && !fields.sgrp) {
      say(area, "info", "Nothing was changed.");
      return false;
    }
    try {
      await api.pwdgrp(fields);
    } catch (error) {
      app.fail(error, area);
      return false;
    }
    return true;
  };
  const saved = await modal({
    title: adding ? "Add account" : `Update account ${existing.name}`,
    content,
    onSubmit,
    buttons: [
      { label: "Cancel", value: "cancel" },
      { label: adding ? "Add" : "Save", value: "save", class: "primary" },
    ],
  });
  return saved ? { name: name.value, self: !adding && existing.name === app.session.user } : null;
}

function anonymousCard(app) {
  const area = messageArea();
  const toggles = [
    ["System.BoaProtViewer", "Allow anonymous viewing", "Anyone can use the device as a viewer without logging in."],
  ].map(([param, label, hint]) => {
    const box = h("input", { type: "checkbox", role: "switch", id: uid("anon"), "data-param": param });
    const hintId = uid("hint");
    box.setAttribute("aria-describedby", hintId);
    box.addEventListener("change", async () => {
      box.disabled = true;
      try {
        await api.updateParams({ [param]: box.checked ? "anonymous" : "password" });
        say(area, "ok", `${label}: ${box.checked ? "on" : "off"}.`);
      } catch (error) {
        box.checked = !box.checked;
        app.fail(error, area);
      } finally {
        box.disabled = false;
      }
    });
    return { param, box, row: h("div", { class: "check" }, box, h("label", { for: box.id }, label, h("span", { class: "hint", id: hintId, text: hint }))) };
  });
  api
    .listParams(toggles.map((t) => t.param))
    .then((values) => {
      for (const t of toggles) t.box.checked = values[t.param] === "anonymous";
    })
    .catch((error) => app.fail(error, area));
  return card("Anonymous access", toggles.map((t) => t.row), area);
}

export default async function accountsPage(container, app) {
  const area = messageArea();
  const body = h("div", { class: "table-wrap" });
  const add = h("button", { type: "button", class: "primary", id: "add-account" }, "Add account");

  // Changing or deleting one's own account ends one's session.
  const afterChange = (message, self) => {
    if (self) {
      app.boot("Your account was changed. Log in again.");
      return;
    }
    say(area, "ok", message);
    load();
  };

  const load = async () => {
    let accounts;
    try {
      accounts = await api.listAccounts();
    } catch (error) {
      app.fail(error, area);
      return;
    }
    const admins = accounts.filter((a) => a.role === "admin").length;
    const rows = accounts.map((account) => {
      const update = h("button", { type: "button", "aria-label": `Update account ${account.name}` }, "Update");
      update.addEventListener("click", async () => {
        const saved = await accountDialog(app, account);
        if (saved) afterChange(`The account ${saved.name} was updated.`, saved.self);
      });
      const last = account.role === "admin" && admins === 1;
      const remove = h(
        "button",
        {
          type: "button",
          class: "danger-text",
          "aria-label": `Delete account ${account.name}`,
          disabled: account.name === PROTECTED || last,
          title: account.name === PROTECTED ? "The root account cannot be deleted." : last ? "The last administrator cannot be deleted." : null,
        },
        "Delete",
      );
      remove.addEventListener("click", async () => {
        const sure = await confirmAction(
          "Delete account",
          `Delete the account ${account.name}? It can no longer log in.`,
          "Delete",
        );
        if (!sure) return;
        try {
          await busy(remove, () => api.pwdgrp({ action: "remove", user: account.name }));
        } catch (error) {
          app.fail(error, area);
          return;
        }
        afterChange(`The account ${account.name} was deleted.`, account.name === app.session.user);
      });
      return h(
        "tr",
        { "data-account": account.name },
        h("th", { scope: "row", text: account.name }),
        h("td", { text: ROLE_NAMES[account.role] }),
        h("td", { text: account.ptz ? "Yes" : "No" }),
        h("td", { class: "row-actions" }, update, remove),
      );
    });
    clear(
      body,
      h(
        "table",
        { id: "accounts-table" },
        h("caption", { text: `${accounts.length} of 100 accounts` }),
        h("thead", {}, h("tr", {}, ["Account", "Privileges", "PTZ", "Actions"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows),
      ),
    );
  };

  add.addEventListener("click", async () => {
    const saved = await accountDialog(app, null);
    if (saved) afterChange(`The account ${saved.name} was added.`, false);
  });
  const accountsCard = card("Accounts", area, body);
  accountsCard.querySelector("h2").after(h("div", { class: "card-tools" }, add));
  container.append(accountsCard, onvifCard(app), anonymousCard(app), sshCard(app), oidcCard(app), ccgCard(app),
    virtualHostCard(app));
  await load();
}
