// Accounts > ONVIF accounts: the accounts ONVIF clients use (Administrator, Operator, Media
// account), through the ONVIF device service itself (GetUsers, CreateUsers, SetUser,
// DeleteUsers at /onvif/device_service). Creating the first one turns ONVIF on.

import { call, esc, kids } from "./soap.js";
import {
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

const DEVICE_SERVICE = "/onvif/device_service";
const LEVELS = [
  ["Administrator", "Administrator", "Has full access to all settings, and can add, update and remove other accounts."],
  ["Operator", "Operator", "Has access to all settings except the System settings."],
  ["User", "Media account", "Allows access to the video stream only."],
];
const LEVEL_NAMES = Object.fromEntries(LEVELS.map(([value, label]) => [value, label]));

async function listUsers() {
  const reply = await call("<tds:GetUsers/>", DEVICE_SERVICE);
  return kids(reply, "User").map((u) => ({
    name: kids(u, "Username")[0]?.textContent || "",
    level: kids(u, "UserLevel")[0]?.textContent || "",
  }));
}

function userXml(name, password, level) {
  const pwd = password ? `<tt:Password>${esc(password)}</tt:Password>` : "";
  return `<tds:User><tt:Username>${esc(name)}</tt:Username>${pwd}<tt:UserLevel>${esc(level)}</tt:UserLevel></tds:User>`;
}

/** The add / update form; resolves true once the device accepted it. */
async function onvifDialog(app, existing) {
  const adding = !existing;
  const name = h("input", { name: "onvif-account", autocomplete: "off", maxlength: "14", value: existing?.name || "" });
  if (!adding) name.readOnly = true;
  const password = h("input", { name: "onvif-password", type: "password", autocomplete: "new-password" });
  const repeat = h("input", { name: "onvif-repeat", type: "password", autocomplete: "new-password" });
  const group = uid("onvif-role");
  const radios = LEVELS.map(([value, label, description]) => {
    const radio = h("input", { type: "radio", name: group, value, id: uid("level") });
    radio.checked = (existing?.level || "User") === value;
    const hintId = uid("hint");
    radio.setAttribute("aria-describedby", hintId);
    return h("div", { class: "check" }, radio,
      h("label", { for: radio.id }, h("strong", { text: label }), h("span", { class: "hint", id: hintId, text: description })));
  });
  const area = messageArea();
  const content = h(
    "div",
    { class: "stack" },
    field("Account", name, adding ? "A unique name: 1 to 14 letters, digits or underscores." : null),
    field("New password", password,
      adding ? "1 to 64 printable ASCII characters." : "Leave empty to keep the current password."),
    field("Repeat password", repeat),
    h("fieldset", {}, h("legend", { text: "Role" }), radios),
    area,
  );
  const onSubmit = async () => {
    const level = content.querySelector(`input[name="${group}"]:checked`).value;
    const problem = accountProblem(name, password, repeat, { adding });
    markInvalid([name, password, repeat], problem?.[0]);
    if (problem) {
      say(area, "error", problem[1]);
      return false;
    }
    if (!adding && !password.value && level === existing.level) {
      say(area, "info", "Nothing was changed.");
      return false;
    }
    const op = adding ? "CreateUsers" : "SetUser";
    try {
      await call(`<tds:${op}>${userXml(name.value, password.value, level)}</tds:${op}>`, DEVICE_SERVICE);
    } catch (error) {
      app.fail(error, area);
      return false;
    }
    return true;
  };
  return modal({
    title: adding ? "Add ONVIF account" : `Update ONVIF account ${existing.name}`,
    content,
    onSubmit,
    buttons: [
      { label: "Cancel", value: "cancel" },
      { label: adding ? "Add" : "Save", value: "save", class: "primary" },
    ],
  });
}

/** The ONVIF accounts card of the Accounts page. */
export function onvifCard(app) {
  const area = messageArea();
  const body = h("div", { class: "table-wrap" });
  const add = h("button", { type: "button", id: "add-onvif-account" }, "Add ONVIF account");
  const load = async () => {
    let users;
    try {
      users = await listUsers();
    } catch (error) {
      app.fail(error, area);
      return;
    }
    const rows = users.map((user) => {
      const update = h("button", { type: "button", "aria-label": `Update ONVIF account ${user.name}` }, "Update");
      update.addEventListener("click", async () => {
        if (await onvifDialog(app, user)) {
          say(area, "ok", `The ONVIF account ${user.name} was updated.`);
          load();
        }
      });
      const remove = h("button", { type: "button", class: "danger-text", "aria-label": `Delete ONVIF account ${user.name}`,
        disabled: user.name === "root", title: user.name === "root" ? "The root account cannot be deleted." : null }, "Delete");
      remove.addEventListener("click", async () => {
        if (!(await confirmAction("Delete ONVIF account", `Delete the account ${user.name}? It can no longer log in.`, "Delete"))) return;
        try {
          await busy(remove, () => call(`<tds:DeleteUsers><tds:Username>${esc(user.name)}</tds:Username></tds:DeleteUsers>`, DEVICE_SERVICE));
        } catch (error) {
          app.fail(error, area);
          return;
        }
        say(area, "ok", `The ONVIF account ${user.name} was deleted.`);
        load();
      });
      return h("tr", { "data-onvif-account": user.name },
        h("th", { scope: "row", text: user.name }),
        h("td", { text: LEVEL_NAMES[user.level] || user.level }),
        h("td", { class: "row-actions" }, update, remove));
    });
    const state = users.length ? "ONVIF is on." : "ONVIF is off: create an ONVIF account to turn it on.";
    clear(body, h("p", { id: "onvif-state", text: state }), users.length
      ? h("table", { id: "onvif-accounts-table" },
        h("thead", {}, h("tr", {}, ["Account", "Role", "Actions"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows))
      : "");
  };
  add.addEventListener("click", async () => {
    if (await onvifDialog(app, null)) {
      say(area, "ok", "The ONVIF account was added.");
      load();
    }
  });
  const intro = h("p", { class: "hint", text: "ONVIF clients (video management systems, Home Assistant) use these accounts. " +
    "When you create an ONVIF account, you automatically enable ONVIF communication." });
  const result = card("ONVIF accounts", intro, area, body);
  result.querySelector("h2").after(h("div", { class: "card-tools" }, add));
  load();
  return result;
}
