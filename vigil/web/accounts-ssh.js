// Accounts > SSH accounts: "Enable SSH" (the VAPIX SSH API, ssh.cgi) and the SSH accounts,
// apart from the web accounts (SSH Management, /config/rest/ssh/v2/users): add, update the
// password or comment, delete. The device's root account is listed and cannot be deleted.

import * as api from "./api.js";
import { accountProblem, busy, card, clear, confirmAction, field, h, markInvalid, messageArea, modal, say, uid } from "./ui.js";

const CGI = "/axis-cgi/ssh.cgi";
const USERS = "/config/rest/ssh/v2/users";
const NAME = /^[a-z][a-z0-9-]{0,31}$/;
const NAME_TEXT = "Enter an account name of 1 to 32 lowercase letters, digits or hyphens, starting with a letter.";

async function sshDialog(app, existing) {
  const adding = !existing;
  const name = h("input", { name: "ssh-account", autocomplete: "off", maxlength: "32", value: existing?.username || "" });
  if (!adding) name.readOnly = true;
  const password = h("input", { name: "ssh-password", type: "password", autocomplete: "new-password" });
  const repeat = h("input", { name: "ssh-repeat", type: "password", autocomplete: "new-password" });
  const comment = h("input", { name: "ssh-comment", autocomplete: "off", maxlength: "256", value: existing?.comment || "" });
  const area = messageArea();
  const content = h(
    "div",
    { class: "stack" },
    field("Account", name, adding ? "1 to 32 lowercase letters, digits or hyphens, starting with a letter." : null),
    field("New password", password, adding ? "1 to 64 printable ASCII characters." : "Leave empty to keep the current password."),
    field("Repeat password", repeat),
    field("Comment", comment, "Optional; no colons."),
    area,
  );
  const onSubmit = async () => {
    const problem =
      accountProblem(name, password, repeat, { adding, rule: NAME, ruleText: NAME_TEXT }) ??
      (comment.value.includes(":") ? [comment, "A comment cannot hold a colon."] : null);
    markInvalid([name, password, repeat, comment], problem?.[0]);
    if (problem) {
      say(area, "error", problem[1]);
      return false;
    }
    const data = { comment: comment.value };
    if (password.value) data.password = password.value;
    try {
      if (adding) await api.configRest(USERS, { username: name.value, ...data }, "POST");
      else await api.configRest(`${USERS}/${encodeURIComponent(existing.username)}`, data);
    } catch (error) {
      app.fail(error, area);
      return false;
    }
    return true;
  };
  return modal({
    title: adding ? "Add SSH account" : `Update SSH account ${existing.username}`,
    content,
    onSubmit,
    buttons: [
      { label: "Cancel", value: "cancel" },
      { label: adding ? "Add" : "Save", value: "save", class: "primary" },
    ],
  });
}

/** The SSH accounts card of the Accounts page. */
export function sshCard(app) {
  const area = messageArea();
  const body = h("div", { class: "table-wrap" });
  const add = h("button", { type: "button", id: "add-ssh-account" }, "Add SSH account");
  const enable = h("input", { type: "checkbox", role: "switch", id: uid("ssh") });
  enable.addEventListener("change", async () => {
    enable.disabled = true;
    try {
      await api.jsonApi(CGI, "1.0", "setSshConfiguration", { enabled: enable.checked });
      say(area, "ok", `SSH is ${enable.checked ? "on" : "off"}.`);
    } catch (error) {
      enable.checked = !enable.checked;
      app.fail(error, area);
    } finally {
      enable.disabled = false;
    }
  });
  const load = async () => {
    let users;
    try {
      [users] = await Promise.all([
        api.configRest(USERS),
        api.jsonApi(CGI, "1.0", "getSshInfo").then((info) => (enable.checked = info.enabled)),
      ]);
    } catch (error) {
      app.fail(error, area);
      return;
    }
    const rows = users.map((user) => {
      const root = user.username === "root";
      const update = h("button", { type: "button", "aria-label": `Update SSH account ${user.username}`, disabled: root,
        title: root ? "The root account's password is changed under Accounts." : null }, "Update");
      update.addEventListener("click", async () => {
        if (await sshDialog(app, user)) {
          say(area, "ok", `The SSH account ${user.username} was updated.`);
          load();
        }
      });
      const remove = h("button", { type: "button", class: "danger-text", "aria-label": `Delete SSH account ${user.username}`,
        disabled: root, title: root ? "The root account cannot be deleted." : null }, "Delete");
      remove.addEventListener("click", async () => {
        if (!(await confirmAction("Delete SSH account", `Delete the SSH account ${user.username}? It can no longer log in.`, "Delete"))) return;
        try {
          await busy(remove, () => api.configRest(`${USERS}/${encodeURIComponent(user.username)}`, undefined, "DELETE"));
        } catch (error) {
          app.fail(error, area);
          return;
        }
        say(area, "ok", `The SSH account ${user.username} was deleted.`);
        load();
      });
      return h("tr", { "data-ssh-account": user.username },
        h("th", { scope: "row", text: user.username }),
        h("td", { text: user.comment }),
        h("td", { class: "row-actions" }, update, remove));
    });
    clear(body, h("table", { id: "ssh-accounts-table" },
      h("thead", {}, h("tr", {}, ["Account", "Comment", "Actions"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, rows)));
  };
  add.addEventListener("click", async () => {
    if (await sshDialog(app, null)) {
      say(area, "ok", "The SSH account was added.");
      load();
    }
  });
  const toggle = h("div", { class: "check" }, enable, h("label", { for: enable.id, text: "Enable SSH" }));
  const result = card("SSH accounts", toggle, area, body);
  result.querySelector("h2").after(h("div", { class: "card-tools" }, add));
  load();
  return result;
}
