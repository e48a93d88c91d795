// Security > Certificate enrollment (EST): the enrollment profiles with their status, add one,
// enroll or renew now, delete (/config/rest/cert-est/v1). The device renews an enrolled
// certificate by itself at half of its validity.

import * as api from "./api.js";
import { busy, card, checkbox, clear, confirmAction, field, h, messageArea, modal, say, select } from "./ui.js";

const ROOT = "/config/rest/cert-est/v1/profiles";
const enc = encodeURIComponent;

function input(name, attrs = {}) {
  return h("input", { name, autocomplete: "off", spellcheck: "false", ...attrs });
}

async function addProfile(app) {
  const area = messageArea();
  const cas = await api.rest("/config/rest/cert/v1/ca_certificates");
  const certs = await api.rest("/config/rest/cert/v1/certificates");
  const id = input("est-id", { maxlength: "32" });
  const server = input("est-server", { placeholder: "est.example.com:443/.well-known/est" });
  const cn = input("est-cn");
  const sans = input("est-sans", { placeholder: "DNS:camera.example.com, IP:192.0.2.10" });
  const trust = select({ name: "est-ca" }, [["", "The system's trusted CAs"], ...cas.map((c) => [c.alias, c.alias])]);
  const client = select({ name: "est-client" }, [["", "None"], ...certs.map((c) => [c.alias, c.alias])]);
  const username = input("est-username");
  const password = h("input", { name: "est-password", type: "password", autocomplete: "new-password" });
  const https = checkbox("Use for HTTPS", true, "The HTTPS server serves the enrolled certificate.");
  const content = h("div", { class: "stack" },
    field("Profile ID", id, "1 to 32 letters, digits, - or _."),
    field("EST server", server, "host[:port][/path]; HTTPS only."),
    field("Common name (CN)", cn), field("Subject alternative names", sans, "DNS:<name> or IP:<address>, separated by commas."),
    field("CA certificate of the server", trust), field("Client certificate", client, "Optional: for TLS client authentication."),
    field("User name", username), field("Password", password), https.element, area);
  return modal({
    title: "Add enrollment profile",
    content,
    wide: true,
    buttons: [{ label: "Cancel", value: "cancel" }, { label: "Add and enroll", value: "ok", class: "primary" }],
    onSubmit: async () => {
      try {
        await api.rest(ROOT, "POST", {
          id: id.value.trim(), server: server.value.trim(), subject: { cn: cn.value.trim() },
          subjectAlternativeNames: sans.value.split(",").map((s) => s.trim()).filter(Boolean),
          caCertificates: trust.value ? [trust.value] : [], certificate: client.value,
          username: username.value, password: password.value, services: https.box.checked ? ["WEBSERVER"] : [],
        });
      } catch (error) {
        app.fail(error, area);
        return false;
      }
      try {
        await api.rest(`${ROOT}/${enc(id.value.trim())}/enroll`, "POST");
      } catch (error) {
        // The profile is stored; its status on the card says why the first enrollment failed.
        app.notify(`The profile is added, but the enrollment failed: ${error.message}`, "error");
      }
      return true;
    },
  });
}

function statusText(p) {
  const valid = p.validTo ? `, valid to ${new Date(p.validTo * 1000).toLocaleString()}, renewed from ${new Date(p.renewAt * 1000).toLocaleString()}` : "";
  return `${p.status}${valid}${p.error ? ` (last attempt: ${p.error})` : ""}`;
}

export function enrollmentCard(app, changed) {
  const area = messageArea();
  const body = h("div", { class: "table-wrap" });
  const add = h("button", { type: "button", class: "primary", id: "add-est-profile" }, "Add profile");
  const load = async () => {
    let profiles;
    try {
      profiles = await api.rest(ROOT);
    } catch (error) {
      app.fail(error, area);
      return;
    }
    const rows = profiles.map((p) => {
      const now = h("button", { type: "button", "aria-label": `Enroll now ${p.id}` }, p.validTo ? "Renew now" : "Enroll now");
      now.addEventListener("click", () => busy(now, async () => {
        try {
          await api.rest(`${ROOT}/${enc(p.id)}/enroll`, "POST");
          say(area, "ok", `${p.alias} is enrolled.`);
          changed();
        } catch (error) {
          app.fail(error, area);
        }
        load();
      }));
      const remove = h("button", { type: "button", class: "danger-text", "aria-label": `Delete profile ${p.id}` }, "Delete");
      remove.addEventListener("click", async () => {
        if (!(await confirmAction("Delete profile", `Delete the profile ${p.id}? Its certificate stays.`, "Delete"))) return;
        try {
          await busy(remove, () => api.rest(`${ROOT}/${enc(p.id)}`, "DELETE"));
          load();
        } catch (error) {
          app.fail(error, area);
        }
      });
      return h("tr", { "data-profile": p.id },
        h("th", { scope: "row", text: p.id }), h("td", { text: p.server }), h("td", { class: "est-status", text: statusText(p) }),
        h("td", { class: "row-actions" }, now, remove));
    });
    clear(body, h("table", { id: "est-table" }, h("caption", { text: `${profiles.length} enrollment profiles` }),
      h("thead", {}, h("tr", {}, ["Profile", "EST server", "Status", "Actions"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, rows)));
  };
  add.addEventListener("click", async () => {
    if (await addProfile(app)) {
      load();
      changed();
    }
  });
  const element = card("Certificate enrollment (EST)", area, body);
  element.querySelector("h2").after(h("div", { class: "card-tools" }, add));
  load();
  return { element, load };
}
