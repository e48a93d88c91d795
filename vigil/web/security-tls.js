// Security > Certificates and HTTPS: the certificates (security-certificates.js), certificate
// enrollment over EST (security-enrollment.js), HTTPS (the server certificate, TLS versions,
// cryptographic policy, allow access through: HTTPS.* through param.cgi, applied at once) and the
// prevention of brute-force attacks (System.BruteForce.*). Administrators only, as the APIs are.

import * as api from "./api.js";
import { caCertificatesCard, certificatesCard, osCertificatesCard } from "./security-certificates.js";
import { enrollmentCard } from "./security-enrollment.js";
import { busy, card, checkbox, field, h, messageArea, numberInput, say, select } from "./ui.js";

const BUILT_IN = "";

function httpsCard(app, values) {
  const area = messageArea();
  const certificate = select({ id: "https-certificate" }, [[BUILT_IN, "Built-in self-signed certificate"]]);
  const versions = select({ id: "https-tls-versions" }, [["yes", "TLS 1.2 and TLS 1.3"], ["no", "TLS 1.3 only"]]);
  versions.value = values["HTTPS.AllowTLS12"] || "yes";
  const policy = select({ id: "https-policy" }, [
    ["default", "Default: balanced security and performance"],
    ["fips", "FIPS: FIPS 140-2 algorithms only (AES-GCM, NIST curves)"],
  ]);
  policy.value = values["HTTPS.CryptographicPolicy"] || "default";
  const access = select({ id: "https-access" }, [
    ["both", "HTTP and HTTPS"],
    ["https", "HTTPS only (HTTP is redirected to HTTPS)"],
    ["http", "HTTP only"],
  ]);
  access.value = values["HTTPS.AllowAccessThrough"] || "both";
  const save = h("button", { type: "submit", class: "primary", id: "https-save" }, "Save");

  /** The certificates with a private key, as choices; called again after every certificate change. */
  const reload = async () => {
    try {
      const [entries, now] = await Promise.all([api.rest("/config/rest/cert/v1/certificates"), api.listParams(["HTTPS.Certificate"])]);
      const chosen = now["HTTPS.Certificate"] ?? BUILT_IN;
      certificate.replaceChildren(
        h("option", { value: BUILT_IN, text: "Built-in self-signed certificate" }),
        ...entries.map((e) => h("option", { value: e.alias, text: `${e.alias} (${e.info.subject})` })),
      );
      certificate.value = chosen;
    } catch (error) {
      app.fail(error, area);
    }
  };
  const form = h("form", { id: "https-form", novalidate: true },
    card("HTTPS",
      field("Server certificate", certificate, "The certificate browsers and clients see. It must name this device's address."),
      field("TLS versions", versions),
      field("Cryptographic policy", policy, "Which cipher suites and key exchanges HTTPS offers."),
      field("Allow access through", access),
      h("p", { class: "hint", text: "Changes apply to the next connection; no restart is needed." }),
      area, h("div", { class: "actions" }, save)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changes = {
      "root.HTTPS.Certificate": certificate.value,
      "root.HTTPS.AllowTLS12": versions.value,
      "root.HTTPS.CryptographicPolicy": policy.value,
      "root.HTTPS.AllowAccessThrough": access.value,
    };
    await busy(save, async () => {
      try {
        await api.updateParams(changes);
        say(area, "ok", "Saved. HTTPS uses the new settings from the next connection.");
      } catch (error) {
        app.fail(error, area);
      }
    });
  });
  reload();
  return { element: form, reload };
}

const GUARD = [
  ["BlockingPeriod", "Blocking period (seconds)", 1, 86400, "How long an address that failed too often is blocked."],
  ["PageFailuresPerSecond", "Blocking conditions: failures per second on one page", 1, 1000, ""],
  ["DeviceFailuresPerSecond", "Blocking conditions: failures per second on the device", 1, 10000, ""],
  ["WindowFailures", "Slow guessing: failures", 1, 100000, "Also block an address after this many failures within the window below."],
  ["Window", "Slow guessing: window (seconds)", 1, 86400, ""],
];

function bruteForceCard(app, values) {
  const area = messageArea();
  const enabled = checkbox("Prevent brute-force attacks", values["System.BruteForce.Enabled"] === "yes",
    "Block an address that fails to log in too often.");
  const inputs = GUARD.map(([name, label, min, max, hint]) => {
    const input = numberInput(values[`System.BruteForce.${name}`] || String(min), min, max);
    input.id = `brute-force-${name}`;
    return { name, input, element: field(label, input, hint || null) };
  });
  const save = h("button", { type: "submit", class: "primary", id: "brute-force-save" }, "Save");
  const form = h("form", { id: "brute-force-form", novalidate: true },
    card("Prevent brute-force attacks", enabled.element, inputs.map((i) => i.element), area, h("div", { class: "actions" }, save)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changes = { "root.System.BruteForce.Enabled": enabled.box.checked ? "yes" : "no" };
    for (const i of inputs) changes[`root.System.BruteForce.${i.name}`] = i.input.value;
    await busy(save, async () => {
      try {
        await api.updateParams(changes);
        say(area, "ok", "Saved. The new limits apply to the next failed login.");
      } catch (error) {
        app.fail(error, area);
      }
    });
  });
  return form;
}

export async function certificatesPanel(app, panel) {
  const values = await api.listParams(["HTTPS", "System.BruteForce"]);
  const https = httpsCard(app, values);
  const certificates = certificatesCard(app, https.reload);
  const enrollment = enrollmentCard(app, () => {
    certificates.load();
    https.reload();
  });
  panel.append(
    certificates.element,
    caCertificatesCard(app),
    enrollment.element,
    https.element,
    bruteForceCard(app, values),
    osCertificatesCard(app),
  );
}
