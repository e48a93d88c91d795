// Events > Recipients: where notifications and files go (HTTP(S), email, FTP, SFTP, TCP, a network
// share of System > Storage) and whom a SIP call goes to (every device places them), with a Test button. Through the VAPIX action service (soap.js);
// operators look, administrators add, copy, test and delete.

import * as api from "./api.js";
import * as soap from "./soap.js";
import { RANK, busy, card, checkbox, clear, confirmAction, field, h, messageArea, modal, say, select } from "./ui.js";

/** The network shares of System > Storage ([] on a device without them). */
function networkShares() {
  return api
    .jsonApi("/axis-cgi/storage.cgi", "1.0", "listNetworkShares")
    .then((d) => d.shares || [])
    .catch(() => []);
}

export const RECIPIENT_TYPES = {
  "com.axis.recipient.http": "HTTP",
  "com.axis.recipient.https": "HTTPS",
  "com.axis.recipient.smtp": "Email",
  "com.axis.recipient.ftp": "FTP",
  "com.axis.recipient.sftp": "SFTP",
  "com.axis.recipient.tcp": "TCP",
  "com.axis.recipient.networkshare": "Network share",
  "com.axis.recipient.sip": "SIP",
};

/** The device's SIP accounts ([] when they cannot be read), for a SIP recipient's "From SIP account". */
function sipAccounts() {
  return api
    .jsonApi("/axis-cgi/sip/sip.cgi", "1.0", "getSipAccounts")
    .then((d) => d.accounts || [])
    .catch(() => []);
}

// Fields per recipient type: [parameter, label, kind, default, hint]; kind: text | password | port | check |
// select | share (one of the network shares of System > Storage)
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
  "com.axis.recipient.sip": [
    ["sip_account", "From SIP account", "sipaccount", "", "The default account when none is chosen."],
    ["sip_uri", "To SIP address", "text", "", "For example sip:door@192.168.0.90 or sip:100@pbx.example.com:5060; VMS_CALL makes a VMS call (a call announced by events, answered by the VMS sending audio)."],
  ],
  "com.axis.recipient.networkshare": [
    ["share_id", "Network share", "share", "", "A network share added under System > Storage."],
    ["upload_path", "Folder", "text", "", "A folder below the share, for example events/door; created when missing."],
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
    } else if (kind === "sipaccount") {
      control = select({}, [["", "Default account"]]);
      into.append(field(label, control, hint));
      const accountSelect = control;
      sipAccounts().then((accounts) => {
        const known = [["", "Default account"], ...accounts.map((a) => [a.id, `${a.name || a.id} (${a.user})`])];
        if (value && !accounts.some((a) => a.id === value)) known.push([value, `${value} (no longer configured)`]);
        clear(accountSelect, known.map(([v, text]) => h("option", { value: v, text })));
        accountSelect.value = value;
      });
      reader = (out) => (out[param] = accountSelect.value);
    } else if (kind === "share") {
      const chosen = value ? [[value, value]] : [];
      control = select({}, chosen.length ? chosen : [["", "Loading…"]]);
      control.value = value;
      into.append(field(label, control, hint));
      const shareSelect = control;
      networkShares().then((shares) => {
        const known = shares.map((s) => [s.id, `${s.nicename} (//${s.address}/${s.share})`]);
        if (value && !shares.some((s) => s.id === value)) known.unshift([value, `${value} (no longer configured)`]);
        clear(shareSelect, (known.length ? known : [["", "No network shares: add one under System > Storage"]]).map(([v, text]) => h("option", { value: v, text })));
        shareSelect.value = value || known[0]?.[0] || "";
      });
      reader = (out) => (out[param] = shareSelect.value);
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
  if (p.sip_uri) return `${p.sip_uri}${p.sip_account ? ` from ${p.sip_account}` : ""}`;
  if (p.share_id) return `${p.share_id}${p.upload_path ? `/${p.upload_path}` : ""}`;
  if (p.host) return `${p.host}${p.port ? `:${p.port}` : ""}${p.upload_path ? ` ${p.upload_path}` : ""}`;
  return "";
}

export async function recipientsPanel(app, panel) {
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
