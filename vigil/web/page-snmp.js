// SNMP: the agent's versions and communities, the v3 account "initial", the trap receiver and
// which traps it gets (the SNMP.* parameters through param.cgi), and the agent's state
// (/vigil/snmp). Administrators only, as the parameters are.

import * as api from "./api.js";
import { busy, card, checkbox, facts, field, h, messageArea, numberInput, say, select } from "./ui.js";

const P = "SNMP.";
const TRAP_KINDS = [
  ["Trap.T0.ColdStart.Enabled", "Cold start", "Sends a trap message when the device starts."],
  ["Trap.T0.WarmStart.Enabled", "Warm start", "Sends a trap message when the SNMP settings change and the agent starts again."],
  ["Trap.T0.LinkUp.Enabled", "Link up", "Sends a trap message when a link changes from down to up."],
  ["Trap.T0.LinkDown.Enabled", "Link down", "Sends a trap message when a link changes from up to down."],
  ["Trap.T0.AuthFail.Enabled", "Authentication failed", "Sends a trap message when an authentication attempt fails."],
];
const AUTH = ["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"];
const PRIV = ["DES", "AES", "AES192", "AES256"];

const status = async () => (await api.request("/vigil/snmp")).json();

function statusFacts(s) {
  let state;
  if (s.running) state = `Listening on ${s.address}:${s.port} (${s.versions.join(", ")})`;
  else if (s.error) state = `Not running: ${s.error}`;
  else state = s.enabled ? "Not running: no SNMP version is selected" : "Off";
  const pairs = [["Agent", state], ["Engine ID", s.engineId], ["Engine boots", String(s.engineBoots)]];
  if (s.running) {
    pairs.push(
      ["Requests", String(s.datagrams)],
      ["Authentication failures", String(s.authenticationFailures)],
      ["Malformed or dropped", `${s.parseErrors} / ${s.droppedDatagrams}`],
      ["Traps sent", `${s.trapsSent}${s.trapsFailed ? `, ${s.trapsFailed} failed: ${s.lastTrapError}` : ""}`],
    );
  }
  pairs.push(["Active alarms", s.activeAlarms.length ? s.activeAlarms.map((a) => a.text).join("; ") : "None"]);
  return facts(pairs);
}

export default async function snmpPage(container, app) {
  const [values, current] = await Promise.all([api.listParams(["SNMP"]), status()]);
  const v = (name) => values[P + name] ?? "";
  const yes = (name) => v(name) === "yes";

  const statusBox = h("div", { id: "snmp-status" }, statusFacts(current));
  const refresh = async () => {
    try {
      statusBox.replaceChildren(statusFacts(await status()));
    } catch (error) {
      app.fail(error);
    }
  };

  const enabled = checkbox("SNMP agent", yes("Enabled"), "Answer SNMP requests and send traps.");
  const v1 = checkbox("v1", yes("V1"));
  const v2c = checkbox("v2c", yes("V2c"));
  const v3 = checkbox("v3", yes("V3"), "Encryption and secure passwords; use HTTPS to set the password.");
  const read = h("input", { id: "snmp-read", value: v("V1ReadCommunity"), maxlength: "32", autocomplete: "off" });
  const write = h("input", { id: "snmp-write", value: v("V1WriteCommunity"), maxlength: "32", autocomplete: "off" });
  const contact = h("input", { id: "snmp-contact", value: v("SysContact"), autocomplete: "off" });
  const location = h("input", { id: "snmp-location", value: v("SysLocation"), autocomplete: "off" });
  const dscp = numberInput(v("DSCP") || "0", 0, 63);

  const passwordSet = v("InitialUserPasswdSet") === "yes";
  const password = h("input", { id: "snmp-initial-password", type: "password", autocomplete: "new-password", minlength: "8", maxlength: "50" });
  const auth = select({ id: "snmp-auth" }, AUTH.map((a) => [a, a]));
  auth.value = v("InitialUserAuthProtocol") || "SHA";
  const priv = select({ id: "snmp-priv" }, PRIV.map((p) => [p, p]));
  priv.value = v("InitialUserPrivProtocol") || "AES";
  const passwordField = passwordSet
    ? h("p", { class: "hint", text: 'The password of "initial" is set. To set it again, reset the device to factory default settings.' })
    : field('Password for the account "initial"', password, "8 to 50 characters. It can be set only once.");

  const traps = checkbox("Activate traps", yes("Trap.Enabled"), "Traps go to the management system below (SNMP v1 and v2c).");
  const address = h("input", { id: "snmp-trap-address", value: v("Trap.T0.Address"), autocomplete: "off", placeholder: "host or host:port" });
  const trapCommunity = h("input", { id: "snmp-trap-community", value: v("Trap.T0.Community"), maxlength: "32", autocomplete: "off" });
  const kinds = TRAP_KINDS.map(([name, label, hint]) => ({ name, ...checkbox(label, yes(name), hint) }));

  const area = messageArea();
  const save = h("button", { type: "submit", class: "primary", id: "snmp-save" }, "Save");
  const form = h(
    "form",
    { id: "snmp-form" },
    card(
      "SNMP",
      enabled.element,
      h("fieldset", {}, h("legend", { text: "Versions" }), v1.element, v2c.element, v3.element),
      field("Read community", read, "Read-only access to all supported SNMP objects."),
      field("Write community", write, "Read and write access to all supported SNMP objects, except read-only ones."),
      field("Contact (sysContact)", contact),
      field("Location (sysLocation)", location),
      field("DSCP", dscp, "Differentiated Services Codepoint of the agent's packets, 0 to 63."),
    ),
    card("SNMP v3", passwordField, field("Authentication", auth), field("Encryption", priv)),
    card(
      "Traps",
      traps.element,
      field("Trap address", address, "The IP address or host name of the management server; add :port for a port other than 162."),
      field("Trap community", trapCommunity),
      h("fieldset", {}, h("legend", { text: "Traps" }), kinds.map((k) => k.element)),
      h("p", { class: "hint", text: "All Axis Video MIB traps (storage alarms) are sent when traps are on." }),
    ),
    area,
    h("div", { class: "actions" }, save),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const flag = (c) => (c.box.checked ? "yes" : "no");
    const changes = {
      [`root.${P}V1ReadCommunity`]: read.value,
      [`root.${P}V1WriteCommunity`]: write.value,
      [`root.${P}SysContact`]: contact.value,
      [`root.${P}SysLocation`]: location.value,
      [`root.${P}DSCP`]: dscp.value,
      [`root.${P}InitialUserAuthProtocol`]: auth.value,
      [`root.${P}InitialUserPrivProtocol`]: priv.value,
      [`root.${P}Trap.Enabled`]: flag(traps),
      [`root.${P}Trap.T0.Address`]: address.value.trim(),
      [`root.${P}Trap.T0.Community`]: trapCommunity.value,
      [`root.${P}Enabled`]: flag(enabled),
      [`root.${P}V1`]: flag(v1),
      [`root.${P}V2c`]: flag(v2c),
      [`root.${P}V3`]: flag(v3),
    };
    for (const k of kinds) changes[`root.${P}${k.name}`] = flag(k);
    if (!passwordSet && password.value) changes[`root.${P}InitialUserPasswd`] = password.value;
    await busy(save, async () => {
      try {
        await api.updateParams(changes);
        say(area, "ok", "Saved. The agent follows the new settings now.");
        if (changes[`root.${P}InitialUserPasswd`]) {
          container.replaceChildren();
          await snmpPage(container, app);
          return;
        }
        setTimeout(refresh, 500);
      } catch (error) {
        if (error instanceof api.ApiError && error.status === 401) app.fail(error);
        else say(area, "error", error.message);
      }
    });
  });

  container.append(card("Status", statusBox), form);
  const timer = setInterval(refresh, 5000);
  api.whenGone(container, () => clearInterval(timer));
}
