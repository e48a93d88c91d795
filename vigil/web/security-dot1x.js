// Security > IEEE 802.1X (the manual's "Network access control and encryption"): use IEEE 802.1X,
// the authentication method (EAP-TLS with a client certificate, PEAP-MSCHAPv2 with an identity and
// password, or MACsec with a pre-shared key), the EAPOL version, the CA certificate that the
// authentication server must be signed by, and the port's status now. The settings are the
// Network.Interface.I0.dot1x.* parameters (param.cgi); the device checks them all again and
// authenticates at once. Certificates are named by their id in the certificate store.

import * as api from "./api.js";
import { busy, card, checkbox, clear, facts, field, h, messageArea, say, select } from "./ui.js";

const P = "Network.Interface.I0.dot1x.";
const STATUS_EVERY_MS = 2000;
const STATUS_TEXT = {
  authorized: "Authorized: the network lets the device in.",
  unauthorized: "Unauthorized: no authentication has succeeded yet (or no authenticator answers).",
  failed: "Failed: the authentication server refused the device's credentials.",
  off: "Off",
};

function text(value, attrs = {}) {
  return h("input", { value: value ?? "", autocomplete: "off", spellcheck: "false", ...attrs });
}

// The device never shows a password (param.cgi lists "******" for every one, set or not): an
// empty field keeps what is stored.
function secret(hint = "") {
  return h("input", { type: "password", autocomplete: "new-password", value: "", placeholder: hint || "Leave empty to keep the stored one" });
}

export async function dot1xPanel(app, panel) {
  const area = messageArea();
  panel.append(area);
  let values;
  try {
    values = await api.listParams([P.slice(0, -1)]);
  } catch (error) {
    app.fail(error, area);
    return undefined;
  }
  const v = (name) => values[P + name] ?? "";
  const statusBox = h("div", { id: "dot1x-status", "aria-live": "polite" });
  const showStatus = (status) => clear(statusBox, facts([["Status", STATUS_TEXT[status] || status]]));
  showStatus(v("Status"));

  const use = checkbox("Use IEEE 802.1X", v("Enabled") === "yes", "The device authenticates itself to the network switch.");
  const method = select({}, [["EAP-TLS", "IEEE 802.1X EAP-TLS (certificate)"], ["PEAP-MSCHAPv2", "IEEE 802.1X PEAP-MSCHAPv2 (password)"],
    ["MACsec-PSK", "IEEE 802.1AE MACsec (static CAK / pre-shared key)"]]);
  method.value = v("Method") || "EAP-TLS";
  const eapol = select({}, [["1", "1"], ["2", "2"]]);
  eapol.value = v("EAPOLVersion") || "1";
  const ca = text(v("CACertID"), { placeholder: "none: the server is not checked" });
  const tlsIdentity = text(v("EAPTLS.Identity"));
  const clientCert = text(v("EAPTLS.ClientCertID"));
  const keyPassword = secret();
  const peapIdentity = text(v("PEAP.Identity"));
  const peapPassword = secret();
  const peapVersion = select({}, [["0", "0"], ["1", "1"]]);
  peapVersion.value = v("PEAP.Version") || "0";
  const peapLabel = select({}, [["1", "1: client EAP encryption"], ["2", "2: client PEAP encryption"]]);
  peapLabel.value = v("PEAP.Label") || "1";
  const ckn = text(v("MACsec.CKN"), { placeholder: "2 to 64 hexadecimal characters" });
  const cak = secret("32 or 64 hexadecimal characters; leave empty to keep the stored one");

  const tlsPart = h("fieldset", {}, h("legend", { text: "EAP-TLS" }),
    field("EAP identity", tlsIdentity, "The user identity of the client certificate."),
    field("Client certificate", clientCert, "The id of a client certificate (with its private key) in the certificate store."),
    field("Private key password", keyPassword));
  const peapPart = h("fieldset", {}, h("legend", { text: "PEAP-MSCHAPv2" }),
    field("Identity", peapIdentity), field("Password", peapPassword),
    field("PEAP version", peapVersion), field("Label", peapLabel, "The label the network switch uses with PEAP version 1."));
  const macsecPart = h("fieldset", {}, h("legend", { text: "MACsec" }),
    field("Key agreement connectivity association key name", ckn, "The CKN: it must match on both ends of the link."),
    field("Key agreement connectivity association key", cak, "The CAK: it must match on both ends of the link."));
  const caField = field("CA certificate", ca, "The id of the CA certificate in the certificate store that the authentication server's certificate must be signed by.");
  const show = () => {
    tlsPart.hidden = method.value !== "EAP-TLS";
    peapPart.hidden = method.value !== "PEAP-MSCHAPv2";
    macsecPart.hidden = method.value !== "MACsec-PSK";
    caField.hidden = method.value === "MACsec-PSK";
  };
  method.addEventListener("change", show);
  show();

  const saveArea = messageArea();
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const form = h("form", { novalidate: true, id: "dot1x-form", "aria-label": "IEEE 802.1X" },
    use.element, field("Authentication method", method), field("EAPOL version", eapol, "The version the network switch uses."),
    caField, tlsPart, peapPart, macsecPart,
    h("div", { class: "form-footer" }, saveArea, h("div", { class: "actions" }, save)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(save, async () => {
      const changes = {
        [P + "Enabled"]: use.box.checked ? "yes" : "no", [P + "Method"]: method.value, [P + "EAPOLVersion"]: eapol.value,
        [P + "CACertID"]: ca.value.trim(), [P + "EAPTLS.Identity"]: tlsIdentity.value, [P + "EAPTLS.ClientCertID"]: clientCert.value.trim(),
        [P + "PEAP.Identity"]: peapIdentity.value, [P + "PEAP.Version"]: peapVersion.value, [P + "PEAP.Label"]: peapLabel.value,
        [P + "MACsec.CKN"]: ckn.value.trim(),
      };
      for (const [name, control] of [["EAPTLS.PrivateKeyPassword", keyPassword], ["PEAP.Password", peapPassword], ["MACsec.CAK", cak]]) {
        if (control.value) changes[P + name] = control.value;
      }
      try {
        await api.updateParams(changes);
        say(saveArea, "ok", use.box.checked ? "Saved: the device authenticates with these settings now." : "Saved: IEEE 802.1X is off.");
        await refresh();
      } catch (error) {
        app.fail(error, saveArea);
      }
    });
  });
  panel.append(card("Status", statusBox), card("IEEE 802.1X and MACsec", form));

  async function refresh() {
    try {
      const now = await api.listParams([P + "Status"]);
      showStatus(now[P + "Status"]);
    } catch {
      // the next round tries again
    }
  }
  const timer = setInterval(refresh, STATUS_EVERY_MS);
  return () => clearInterval(timer);
}
