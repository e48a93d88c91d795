// Security > Certificates: the client/server certificates (add: create self-signed, upload with its
// key, PKCS#12; information, signing request, install the CA-signed certificate, delete), the CA
// certificates (add, information, delete) and the custom signed OS certificates, all through the
// certificate management API (/config/rest/cert/v1). Each card calls `changed()` after a change.

import * as api from "./api.js";
import { busy, card, clear, confirmAction, facts, field, h, messageArea, modal, say, select } from "./ui.js";

const ROOT = "/config/rest/cert/v1";
const KEY_TYPES = ["EC-P256", "EC-P384", "EC-P521", "RSA-2048", "RSA-3072", "RSA-4096"];
const enc = encodeURIComponent;

function base64(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

/** A certificate file as the API takes it: PEM text, or DER (.cer) in base64. */
async function certificateFields(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  return text.includes("-----BEGIN") ? { certificate: text } : { certificate_der: base64(bytes) };
}

function fileInput(name, accept) {
  return h("input", { type: "file", name, accept });
}

function text(name, attrs = {}) {
  return h("input", { name, autocomplete: "off", spellcheck: "false", ...attrs });
}

const day = (seconds) => new Date(seconds * 1000).toLocaleDateString();

function infoFacts(info, extra = []) {
  return facts([
    ...extra,
    ["Subject", info.subject],
    ["Issuer", info.issuer],
    ["Valid from", new Date(info.valid_from * 1000).toLocaleString()],
    ["Valid to", new Date(info.valid_to * 1000).toLocaleString()],
    ["Alternative names", info.subject_alt_names.join(", ") || "None"],
    ["Key type", info.key_type],
    ["Serial number", info.serial_number],
    ["SHA-256 fingerprint", h("code", { text: info.sha256_fingerprint })],
  ]);
}

function showInfo(title, entry, extra) {
  return modal({ title, content: infoFacts(entry.info, extra), wide: true, buttons: [{ label: "Close", value: "close", class: "primary" }] });
}

/** A dialog whose `submit()` returns true once the device accepted it (or shows why not in `area`). */
function dialog(app, title, label, content, area, submit) {
  return modal({
    title,
    content,
    wide: true,
    buttons: [{ label: "Cancel", value: "cancel" }, { label, value: "ok", class: "primary" }],
    onSubmit: async () => {
      try {
        await submit();
        return true;
      } catch (error) {
        app.fail(error, area);
        return false;
      }
    },
  });
}

function need(control, message) {
  const error = new Error(message);
  control.setAttribute("aria-invalid", "true");
  control.focus();
  throw error;
}

// -- client/server certificates ---------------------------------------------------------------------
async function addCertificate(app) {
  const area = messageArea();
  const how = select({ name: "how" }, [
    ["create", "Create a self-signed certificate"],
    ["upload", "Upload a certificate and its private key"],
    ["pkcs12", "Upload a PKCS#12 (PFX) archive"],
  ]);
  const alias = text("alias", { maxlength: "128" });
  const subject = text("subject", { placeholder: "C=SE,O=Example,CN=camera.example.com" });
  const sans = text("subject-alt-names", { placeholder: "DNS:camera.example.com, IP:192.0.2.10" });
  const keyType = select({ name: "key-type" }, KEY_TYPES.map((k) => [k, k]));
  const days = h("input", { name: "valid-days", type: "number", min: "1", max: "10950", value: "365" });
  const certFile = fileInput("certificate-file", ".pem,.crt,.cer,.der");
  const keyFile = fileInput("key-file", ".pem,.key");
  const keyPassword = h("input", { name: "key-password", type: "password", autocomplete: "off" });
  const archive = fileInput("pkcs12-file", ".pfx,.p12");
  const passphrase = h("input", { name: "passphrase", type: "password", autocomplete: "off" });
  const groups = {
    create: h("div", { class: "stack" },
      field("Subject", subject, "RFC 4514 fields: CN, O, OU, L, ST, C (two letters), emailAddress."),
      field("Subject alternative names", sans, "DNS:<name> or IP:<address>, separated by commas."),
      field("Key type", keyType), field("Valid for (days)", days)),
    upload: h("div", { class: "stack" },
      field("Certificate", certFile, "PEM (.pem, .crt) or DER (.cer), with its chain if you have one."),
      field("Private key", keyFile, "PKCS#1 or PKCS#8, PEM."),
      field("Private key password", keyPassword, "Only for an encrypted key.")),
    pkcs12: h("div", { class: "stack" }, field("PKCS#12 file", archive), field("Passphrase", passphrase)),
  };
  const show = () => Object.entries(groups).forEach(([name, group]) => { group.hidden = name !== how.value; });
  how.addEventListener("change", show);
  show();
  const content = h("div", { class: "stack" }, field("Type", how), field("Alias", alias, "The name other settings use."),
    groups.create, groups.upload, groups.pkcs12, area);
  return dialog(app, "Add certificate", "Add", content, area, async () => {
    content.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
    if (!alias.value.trim()) need(alias, "Enter an alias.");
    if (how.value === "create") {
      if (!subject.value.trim()) need(subject, "Enter a subject, at least CN=<name>.");
      const now = Math.floor(Date.now() / 1000);
      await api.rest(`${ROOT}/create_certificate`, "POST", {
        alias: alias.value.trim(), subject: subject.value.trim(), key_type: keyType.value,
        subject_alt_names: sans.value.split(",").map((s) => s.trim()).filter(Boolean),
        valid_from: now - 60, valid_to: now + Number(days.value || 365) * 86400,
      });
    } else if (how.value === "upload") {
      if (!certFile.files.length) need(certFile, "Choose the certificate file.");
      if (!keyFile.files.length) need(keyFile, "Choose the private key file.");
      await api.rest(`${ROOT}/certificates`, "POST", {
        alias: alias.value.trim(), ...(await certificateFields(certFile.files[0])),
        private_key: await keyFile.files[0].text(), private_key_password: keyPassword.value,
      });
    } else {
      if (!archive.files.length) need(archive, "Choose the PKCS#12 file.");
      await api.rest(`${ROOT}/install_from_pkcs12`, "POST", {
        alias: alias.value.trim(), pkcs12: base64(new Uint8Array(await archive.files[0].arrayBuffer())),
        passphrase: passphrase.value,
      });
    }
  });
}

async function signingRequest(app, entry) {
  const area = messageArea();
  const subject = text("subject", { value: entry.info.subject });
  const sans = text("subject-alt-names", { value: entry.info.subject_alt_names.join(", ") });
  const output = h("textarea", { id: "csr-text", rows: "12", readonly: true, spellcheck: "false", "aria-label": "Certificate signing request" });
  const result = h("div", { class: "stack", hidden: true }, output,
    h("p", { class: "hint", text: "Send this request to your certificate authority, then install the signed certificate it returns on this certificate." }));
  const content = h("div", { class: "stack" }, field("Subject", subject), field("Subject alternative names", sans), area, result);
  let made = false;
  await modal({
    title: `Certificate signing request for ${entry.alias}`,
    content,
    wide: true,
    buttons: [{ label: "Close", value: "cancel" }, { label: "Create", value: "ok", class: "primary" }],
    onSubmit: async () => {
      try {
        output.value = await api.rest(`${ROOT}/certificates/${enc(entry.alias)}/get_csr`, "POST", {
          subject: subject.value.trim(), subject_alt_names: sans.value.split(",").map((s) => s.trim()).filter(Boolean),
        });
        result.hidden = false;
        made = true;
        say(area, "ok", "The request is ready.");
      } catch (error) {
        app.fail(error, area);
      }
      return false;
    },
  });
  return made;
}

async function installSigned(app, entry) {
  const area = messageArea();
  const file = fileInput("signed-certificate-file", ".pem,.crt,.cer,.der");
  const pasted = h("textarea", { name: "signed-certificate", rows: "8", spellcheck: "false", placeholder: "-----BEGIN CERTIFICATE-----" });
  const content = h("div", { class: "stack" },
    h("p", { text: "The certificate the CA signed for this certificate's private key (with its chain if you have one)." }),
    field("File", file), field("Or paste it (PEM)", pasted), area);
  return dialog(app, `Install signed certificate on ${entry.alias}`, "Install", content, area, async () => {
    const data = file.files.length ? await certificateFields(file.files[0]) : { certificate: pasted.value.trim() };
    if (!data.certificate && !data.certificate_der) need(pasted, "Choose the file or paste the certificate.");
    await api.rest(`${ROOT}/certificates/${enc(entry.alias)}`, "PATCH", data);
  });
}

function table(id, caption, heads, rows) {
  return h("table", { id }, h("caption", { text: caption }),
    h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col", text: t })))), h("tbody", {}, rows));
}

function button(label, aria, onClick, danger = false) {
  const b = h("button", { type: "button", "aria-label": aria, class: danger ? "danger-text" : "" }, label);
  b.addEventListener("click", () => onClick(b));
  return b;
}

/** A loader that fetches `url`'s entries and puts `render(entries)` (a table) into `body`. */
function loader(app, area, body, url, render) {
  return async () => {
    let entries;
    try {
      entries = await api.rest(url);
    } catch (error) {
      app.fail(error, area);
      return;
    }
    clear(body, render(entries));
  };
}

/** A Delete button that asks first, deletes `url` and calls `after()`, or says why not in `area`. */
function deleteButton(app, area, aria, title, question, url, after) {
  return button("Delete", aria, async (b) => {
    if (!(await confirmAction(title, question, "Delete"))) return;
    try {
      await busy(b, () => api.rest(url, "DELETE"));
      after();
    } catch (error) {
      app.fail(error, area);
    }
  }, true);
}

/** The card of the client/server certificates ({element, load}); `changed()` is called after every change. */
export function certificatesCard(app, changed) {
  const area = messageArea();
  const body = h("div", { class: "table-wrap" });
  const add = h("button", { type: "button", class: "primary", id: "add-certificate" }, "Add certificate");
  const done = (message) => {
    say(area, "ok", message);
    load();
    changed();
  };
  const load = loader(app, area, body, `${ROOT}/certificates`, (entries) => table("certificates-table",
    `${entries.length} client/server certificates`, ["Alias", "Subject", "Issuer", "Valid to", "Actions"],
    entries.map((entry) => h("tr", { "data-alias": entry.alias },
      h("th", { scope: "row", text: entry.alias }),
      h("td", { text: entry.info.subject }),
      h("td", { text: entry.info.self_signed ? "Self-signed" : entry.info.issuer }),
      h("td", { text: day(entry.info.valid_to) }),
      h("td", { class: "row-actions" },
        button("Information", `Certificate information ${entry.alias}`, () => showInfo(`Certificate ${entry.alias}`, entry, [["Keystore", entry.keystore]])),
        button("Signing request", `Create certificate signing request ${entry.alias}`, () => signingRequest(app, entry)),
        button("Install signed", `Install signed certificate ${entry.alias}`, async () => {
          if (await installSigned(app, entry)) done(`The signed certificate is installed on ${entry.alias}.`);
        }),
        deleteButton(app, area, `Delete certificate ${entry.alias}`, "Delete certificate",
          `Delete ${entry.alias} and its private key?`, `${ROOT}/certificates/${enc(entry.alias)}`,
          () => done(`The certificate ${entry.alias} was deleted.`)))))));
  add.addEventListener("click", async () => {
    if (await addCertificate(app)) done("The certificate was added.");
  });
  const element = card("Client/server certificates", area, body);
  element.querySelector("h2").after(h("div", { class: "card-tools" }, add));
  load();
  return { element, load };
}

// -- CA certificates --------------------------------------------------------------------------------
export function caCertificatesCard(app, changed = () => {}) {
  const area = messageArea();
  const body = h("div", { class: "table-wrap" });
  const add = h("button", { type: "button", class: "primary", id: "add-ca-certificate" }, "Add CA certificate");
  const load = loader(app, area, body, `${ROOT}/ca_certificates`, (entries) => table("ca-certificates-table",
    `${entries.length} CA certificates`, ["Alias", "Subject", "Valid to", "Actions"],
    entries.map((entry) => h("tr", { "data-alias": entry.alias },
      h("th", { scope: "row", text: entry.alias }),
      h("td", { text: entry.info.subject }),
      h("td", { text: day(entry.info.valid_to) }),
      h("td", { class: "row-actions" },
        button("Information", `CA certificate information ${entry.alias}`, () => showInfo(`CA certificate ${entry.alias}`, entry)),
        deleteButton(app, area, `Delete CA certificate ${entry.alias}`, "Delete CA certificate",
          `Delete the CA certificate ${entry.alias}?`, `${ROOT}/ca_certificates/${enc(entry.alias)}`, () => {
            say(area, "ok", `The CA certificate ${entry.alias} was deleted.`);
            load();
            changed();
          }))))));
  add.addEventListener("click", async () => {
    const dialogArea = messageArea();
    const alias = text("ca-alias", { maxlength: "128" });
    const file = fileInput("ca-file", ".pem,.crt,.cer,.der");
    const content = h("div", { class: "stack" }, field("Alias", alias), field("CA certificate", file, "PEM or DER (.cer)."), dialogArea);
    const added = await dialog(app, "Add CA certificate", "Add", content, dialogArea, async () => {
      if (!alias.value.trim()) need(alias, "Enter an alias.");
      if (!file.files.length) need(file, "Choose the CA certificate file.");
      await api.rest(`${ROOT}/ca_certificates`, "POST", { alias: alias.value.trim(), ...(await certificateFields(file.files[0])) });
    });
    if (added) {
      say(area, "ok", "The CA certificate was added.");
      load();
      changed();
    }
  });
  const element = card("CA certificates", area, body);
  element.querySelector("h2").after(h("div", { class: "card-tools" }, add));
  load();
  return element;
}

// -- custom signed OS certificates ------------------------------------------------------------------
export function osCertificatesCard(app) {
  const area = messageArea();
  const body = h("div", { class: "table-wrap" });
  const file = fileInput("os-certificate-file", ".pem,.crt,.cer,.der");
  file.id = "os-certificate-file";
  const install = h("button", { type: "button", class: "primary", id: "install-os-certificate" }, "Install");
  const load = loader(app, area, body, `${ROOT}/os_certificates`, (entries) => table("os-certificates-table",
    `${entries.length} custom signed OS certificates`, ["Subject", "Valid to", "Actions"],
    entries.map((entry) => h("tr", { "data-id": entry.id },
      h("th", { scope: "row", text: entry.info.subject }),
      h("td", { text: day(entry.info.valid_to) }),
      h("td", { class: "row-actions" },
        deleteButton(app, area, `Delete OS certificate ${entry.info.subject}`, "Delete certificate",
          "Delete this custom signed OS certificate?", `${ROOT}/os_certificates/${entry.id}`, () => {
            say(area, "ok", "The custom signed OS certificate was deleted.");
            load();
          }))))));
  install.addEventListener("click", () => busy(install, async () => {
    if (!file.files.length) {
      say(area, "error", "Choose the certificate file first.");
      return;
    }
    try {
      await api.rest(`${ROOT}/os_certificates`, "POST", await certificateFields(file.files[0]));
      file.value = "";
      say(area, "ok", "The custom signed OS certificate is installed.");
      load();
    } catch (error) {
      app.fail(error, area);
    }
  }));
  load();
  return card("Custom signed OS certificate",
    h("p", { class: "hint", text: "Needed before installing test or custom software signed for this device only." }),
    h("div", { class: "actions" }, field("Certificate file", file), install), area, body);
}
