// SIP (the C1410 manual's SIP chapter): the settings (enable SIP, incoming calls, SIP, TLS and RTP
// ports, limits, registration retry and failback, the calls' priority against multicast streams, via and contact rewrite,
// the audio codec priority), the accounts with their status (the peer-to-peer account and registered
// accounts with transport, TLS version, certificate, SIPS, secondary server, outbound proxies (sip-proxies.js) and
// media encryption; caller ID, the default account; a password is write-only), NAT traversal (sip-nat.js), Additional (sip-additional.js), DTMF (each account's sequences with descriptions
// and the protocols it accepts them by), and the test call (place a call to a SIP address, see its
// state, hang up).
// Everything goes through the SIP API (/axis-cgi/sip/sip.cgi).

import * as api from "./api.js";
import { additionalCard } from "./sip-additional.js";
import { natCard } from "./sip-nat.js";
import { proxiesEditor } from "./sip-proxies.js";
import { busy, card, checkbox, field, h, messageArea, modal, numberInput, say, select } from "./ui.js";

const sip = (method, params) => api.jsonApi("/axis-cgi/sip/sip.cgi", "1.0", method, params);

function settingsForm(settings, area) {
  const enabled = checkbox("Enable SIP", settings.enabled);
  const incoming = checkbox("Allow incoming calls", settings.allowIncoming);
  const viaRewrite = checkbox("Allow via rewrite", settings.viaRewrite, "Behind a NAT: requests carry the public address the SIP server saw in their Via.");
  const contactRewrite = checkbox("Allow contact rewrite", settings.contactRewrite, "Behind a NAT: register the public address the SIP server sees, so that its calls reach the device.");
  const inputs = {
    sipPort: numberInput(settings.sipPort, 1024, 65535),
    tlsPort: numberInput(settings.tlsPort, 1024, 65535),
    rtpPortStart: numberInput(settings.rtpPortStart, 1024, 65534),
    callingTimeout: numberInput(settings.callingTimeout, 1, 600),
    incomingCallDuration: numberInput(settings.incomingCallDuration, 1, 600),
    maxCallDuration: numberInput(settings.maxCallDuration, 0, 3600),
    callPriority: numberInput(settings.callPriority, 1, 10),
    registrationRetry: numberInput(settings.registrationRetry, 1, 3600),
    failbackSeconds: numberInput(settings.failbackSeconds, 1, 86400),
  };
  Object.entries(inputs).forEach(([name, input]) => { input.id = `sip-${name}`; });
  const codecs = h("input", { type: "text", id: "sip-codecPriority", value: settings.codecPriority.join(", ") });
  const save = h("button", { type: "submit", class: "primary", id: "sip-save" }, "Save");
  const form = h("form", { id: "sip-settings" }, enabled.element, incoming.element,
    field("SIP port", inputs.sipPort),
    field("TLS port", inputs.tlsPort, "Encrypted SIP (TLS) is received on this port."),
    field("RTP start port", inputs.rtpPortStart, "Calls use even ports from here (1000 ports)."),
    field("Calling timeout (s)", inputs.callingTimeout, "How long a call rings before it is given up."),
    field("Incoming call duration (s)", inputs.incomingCallDuration, "Incoming calls end after this (at most 10 minutes)."),
    field("End calls after (s)", inputs.maxCallDuration, "Every call ends after this; 0: never."),
    field("Call priority", inputs.callPriority, "1 to 10: a call takes the speaker from a multicast stream of lower priority, and gives it to a higher one."),
    field("Retry registration after (s)", inputs.registrationRetry, "While no SIP server can be reached."),
    field("Seconds until failback", inputs.failbackSeconds,
      "On the secondary SIP server, when to try the primary one again."),
    viaRewrite.element, contactRewrite.element,
    field("Audio codec priority", codecs, "In order, from pcmu, pcma, g722, opus. Answering, the first the caller also has is used; calling, the called side chooses."),
    h("div", { class: "actions" }, save));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(save, async () => {
      try {
        const params = { enabled: enabled.box.checked, allowIncoming: incoming.box.checked,
          viaRewrite: viaRewrite.box.checked, contactRewrite: contactRewrite.box.checked };
        Object.entries(inputs).forEach(([name, input]) => { params[name] = Number(input.value); });
        params.codecPriority = codecs.value.split(/[\s,]+/).filter(Boolean);
        await sip("setSipConfiguration", params);
        say(area, "ok", "SIP settings saved.");
      } catch (error) {
        say(area, "error", error.message);
      }
    });
  });
  return form;
}

async function editAccount(account) {
  const text = (id, value, attrs = {}) => h("input", { type: "text", id, value: value || "", ...attrs });
  const controls = {
    id: text("sip-account-id", account?.id, account ? { readonly: true } : {}),
    user: text("sip-account-user", account?.user),
    domain: text("sip-account-domain", account?.domain),
    authId: text("sip-account-auth", account?.authId),
    password: h("input", { type: "password", id: "sip-account-password", autocomplete: "new-password" }),
    registrar: text("sip-account-registrar", account?.registrar),
    transport: select({ id: "sip-account-transport" }, [["udp", "UDP"], ["tcp", "TCP"], ["tls", "TLS"]]),
    callerId: text("sip-account-caller-id", account?.callerId, { maxlength: "64" }),
    tlsVersion: select({ id: "sip-account-tls-version" }, [["auto", "Automatic"], ["1.2", "TLS 1.2"], ["1.3", "TLS 1.3"]]),
    secondaryRegistrar: text("sip-account-secondary", account?.secondaryRegistrar),
    certificate: text("sip-account-certificate", account?.certificate),
  };
  const proxies = proxiesEditor(account?.proxies);
  controls.transport.value = account?.transport || "udp";
  controls.tlsVersion.value = account?.tlsVersion || "auto";
  controls.mediaEncryption = select({ id: "sip-account-media-encryption" }, [["none", "None"],
    ["srtp-optional", "SRTP when the far end has it"], ["srtp-mandatory", "SRTP only (calls without it are refused)"]]);
  controls.mediaEncryption.value = account?.mediaEncryption || "none";
  const answer = checkbox("Answer automatically", account?.autoAnswer);
  const isDefault = checkbox("Make default", account?.isDefault, "Calls are made from the default account when none is chosen.");
  const verify = checkbox("Verify server certificate", account?.verifyServer, "TLS only.");
  const sips = checkbox("SIP secure (SIPS)", account?.sips, "sips: addresses; needs transport TLS.");
  const tlsOnly = [controls.tlsVersion, controls.certificate, verify.box, sips.box];
  const showTls = () => tlsOnly.forEach((control) => { control.disabled = controls.transport.value !== "tls"; });
  controls.transport.addEventListener("change", showTls);
  showTls();
  const choice = await modal({
    title: account ? `Account ${account.id}` : "Add account",
    content: h("div", {},
      field("ID", controls.id), field("User ID", controls.user), field("Domain", controls.domain),
      field("Authentication ID", controls.authId, "Leave empty to use the user ID."),
      field("Password", controls.password, account?.passwordSet ? "Leave empty to keep the password." : ""),
      field("Registrar", controls.registrar, "host:port; empty only for the peer-to-peer account."),
      field("Transport", controls.transport), field("TLS version", controls.tlsVersion),
      field("Certificate", controls.certificate, "A certificate of the keystore (its alias), for a server that asks."),
      verify.element, sips.element,
      field("Secondary SIP server", controls.secondaryRegistrar, "host:port; used while the registrar cannot be reached."),
      h("h3", { text: "Proxies" }), proxies.element,
      field("Media encryption", controls.mediaEncryption, "SRTP keys travel in the call's SDP: use it with TLS, or on a network you trust."),
      field("Caller ID", controls.callerId, "The name the called party sees."), answer.element, isDefault.element),
    buttons: [{ label: "Cancel", value: "cancel" }, { label: "Save", value: "save", class: "primary" }],
  });
  if (choice !== "save") return null;
  const tls = controls.transport.value === "tls";
  const params = { autoAnswer: answer.box.checked, isDefault: isDefault.box.checked,
    verifyServer: tls && verify.box.checked, sips: tls && sips.box.checked };
  if (!tls) controls.certificate.value = "";
  Object.entries(controls).forEach(([name, control]) => {
    if (name !== "password" || control.value) params[name] = control.value.trim();
  });
  params.proxies = proxies.value();
  return params;
}

/** One account's DTMF: its sequences, each with a description of the action it triggers (the
 * Events page offers rules the sequences by it), and the protocols it accepts digits by
 * (RFC 2833/4733 in RTP, SIP INFO). */
function dtmfRow(account, area) {
  const list = h("div", { class: "stack", "data-role": "sequences" });
  let made = 0; // rows are numbered as made: a removed one leaves no two alike
  const addSequence = (item = { sequence: "", description: "" }) => {
    const n = (made += 1);
    const sequence = h("input", { type: "text", value: item.sequence, spellcheck: "false", "data-role": "sequence",
      "aria-label": `Sequence ${n} of ${account.id}`, placeholder: "1234#" });
    const description = h("input", { type: "text", value: item.description, maxlength: "64", "data-role": "description",
      "aria-label": `Description ${n} of ${account.id}`, placeholder: "Open the door" });
    const row = h("div", { class: "actions", "data-sequence": String(n) }, sequence, description);
    row.append(h("button", { type: "button", class: "danger-text", "aria-label": `Remove sequence ${n} of ${account.id}`,
      text: "Remove", onclick: () => row.remove() }));
    list.append(row);
  };
  (account.dtmfSequences || []).forEach((item) => addSequence(typeof item === "string" ? { sequence: item, description: "" } : item));
  const add = h("button", { type: "button", "aria-label": `Add sequence to ${account.id}`, text: "+ Add sequence",
    onclick: () => addSequence() });
  const protocols = account.dtmfProtocols || ["rtp", "info"];
  const rtp = checkbox("Use RTP (RFC2833)", protocols.includes("rtp"));
  const info = checkbox("Use SIP INFO (RFC2976)", protocols.includes("info"));
  const save = h("button", { type: "submit", "aria-label": `Save DTMF of ${account.id}` }, "Save");
  const form = h("form", { class: "stack", "data-dtmf": account.id }, h("h3", { text: account.name || account.id }),
    h("p", { class: "muted", text: "Sequence: 0-9, A-D, # and *, for example 1234#. Description: the action the sequence triggers." }),
    list, add, rtp.element, info.element, h("div", { class: "actions" }, save));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(save, async () => {
      try {
        const dtmfSequences = [...list.children]
          .map((row) => ({ sequence: row.querySelector("[data-role=sequence]").value.trim(),
            description: row.querySelector("[data-role=description]").value.trim() }))
          .filter((item) => item.sequence || item.description);
        await sip("setSipAccount", {
          id: account.id,
          dtmfSequences,
          dtmfProtocols: [rtp.box.checked && "rtp", info.box.checked && "info"].filter(Boolean),
        });
        say(area, "ok", `DTMF of ${account.id} saved.`);
      } catch (error) {
        say(area, "error", error.message);
      }
    });
  });
  return form;
}

export default async function sipPage(container) {
  const area = messageArea();
  const settings = await sip("getSipConfiguration");
  const rows = h("tbody", { id: "sip-accounts" });
  const dtmf = h("div", { id: "sip-dtmf" });
  const accountChoice = select({ id: "sip-call-account" }, []);

  const renderAccounts = async () => {
    const { accounts } = await sip("getSipAccounts");
    accountChoice.replaceChildren(...accounts.map((a) => h("option", { value: a.id, text: a.id })));
    accountChoice.value = (accounts.find((a) => a.isDefault) || accounts[0]).id;
    dtmf.replaceChildren(...accounts.map((account) => dtmfRow(account, area)));
    rows.replaceChildren(...accounts.map((account) => {
      const { state, reason, server } = account.status;
      const status = state + (server ? ` with ${server}` : "") + (reason ? `: ${reason}` : "");
      const edit = h("button", { type: "button", "aria-label": `Edit ${account.id}` }, "Edit");
      edit.addEventListener("click", async () => {
        const params = await editAccount(account);
        if (!params) return;
        try {
          await sip("setSipAccount", params);
          say(area, "ok", `Account ${account.id} saved.`);
          await renderAccounts();
        } catch (error) {
          say(area, "error", error.message);
        }
      });
      return h("tr", { "data-account": account.id }, h("td", { text: account.id + (account.isDefault ? " (default)" : "") }),
        h("td", { text: `${account.user}${account.domain ? "@" + account.domain : ""}` }),
        h("td", { text: account.registrar || "peer to peer" }), h("td", { class: "status", text: status }),
        h("td", { class: "actions" }, edit));
    }));
  };

  const add = h("button", { type: "button", id: "sip-account-add" }, "Add account");
  add.addEventListener("click", async () => {
    const params = await editAccount(null);
    if (!params) return;
    try {
      await sip("setSipAccount", params);
      say(area, "ok", `Account ${params.id} added.`);
      await renderAccounts();
    } catch (error) {
      say(area, "error", error.message);
    }
  });

  const uri = h("input", { type: "text", id: "sip-call-uri", placeholder: "sip:user@host:port" });
  const dial = h("button", { type: "submit", class: "primary", id: "sip-call" }, "Call");
  const hangup = h("button", { type: "button", id: "sip-hangup" }, "Hang up");
  const state = h("p", { id: "sip-call-state", role: "status", text: "No call." });
  let current = null;
  const showCalls = async () => {
    const { calls, history } = await sip("getCalls");
    const call = calls.find((c) => c.id === current) || calls[0];
    if (call) {
      current = call.id;
      state.textContent = `Call ${call.id} with ${call.remote}: ${call.state}`;
    } else if (current && history.length) {
      const last = history[history.length - 1];
      state.textContent = `Call ${last.id} ended: ${last.reason}`;
    }
  };
  const form = h("form", { id: "sip-test-call" }, field("Call", uri, "A SIP address, e.g. sip:reception@192.168.0.20"),
    field("Account", accountChoice), h("div", { class: "actions" }, dial, hangup), state);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(dial, async () => {
      try {
        current = (await sip("call", { uri: uri.value.trim(), accountId: accountChoice.value })).id;
        await showCalls();
      } catch (error) {
        say(area, "error", error.message);
      }
    });
  });
  hangup.addEventListener("click", async () => {
    if (!current) return;
    try {
      await sip("hangup", { callId: current });
    } catch (error) {
      say(area, "error", error.message);
    }
    await showCalls();
  });
  const timer = setInterval(() => showCalls().catch(() => {}), 1000);

  await renderAccounts();
  container.append(
    area,
    card("SIP settings", settingsForm(settings, area)),
    card("NAT traversal", natCard(settings, sip)),
    card("Additional", additionalCard(settings, sip)),
    card("Accounts", h("div", { class: "table-wrap" }, h("table", { id: "sip-account-table" },
      h("thead", {}, h("tr", {}, ["ID", "User", "Registrar", "Status", "Actions"].map((t) => h("th", { text: t })))),
      rows)), h("div", { class: "actions" }, add)),
    card("DTMF", h("p", { class: "muted", text: "Sequences of 0-9, A-D, # and * a caller keys in; each entered sequence is a DTMF event that rules can trigger on (Events > Rules), chosen there by its description." }), dtmf),
    card("Test call", form),
  );
  api.whenGone(container, () => clearInterval(timer));
}
