// SIP page, NAT traversal (the manual's SIP settings > NAT traversal): ICE, STUN and TURN each on
// or off, the STUN server, the TURN server with its user name and password (write-only), and
// what the device saw of each (works, or failed with the reason) from the last use, kept current.

import { whenGone } from "./api.js";
import { busy, checkbox, field, h, messageArea, say, select } from "./ui.js";

export function natCard(settings, sip) {
  const nat = settings.natTraversal;
  const area = messageArea();
  const ice = checkbox("Use ICE", nat.ice, "Offer every address the device has and let connectivity checks pick the path.");
  const stun = checkbox("Use STUN", nat.stun, "Learn the public address and port the router gives the device.");
  const turn = checkbox("Use TURN", nat.turn, "Relay call audio through a TURN server.");
  const text = (id, value, attrs = {}) => h("input", { type: "text", id, value: value || "", ...attrs });
  const stunServer = text("sip-nat-stun-server", nat.stunServer, { placeholder: "host:port" });
  const turnServer = text("sip-nat-turn-server", nat.turnServer, { placeholder: "host:port" });
  const turnUser = text("sip-nat-turn-user", nat.turnUser, { autocomplete: "off" });
  const turnPassword = h("input", { type: "password", id: "sip-nat-turn-password", autocomplete: "new-password" });
  const turnTransport = select({ id: "sip-nat-turn-transport" }, [["udp", "UDP"], ["tcp", "TCP"]]);
  turnTransport.value = nat.turnTransport || "udp";
  const status = h("p", { id: "sip-nat-status", role: "status" });
  const apply = h("button", { type: "submit", class: "primary", id: "sip-nat-apply" }, "Apply");

  const showStatus = async () => {
    const { natStatus } = await sip("getSipAccounts");
    const parts = Object.entries(natStatus || {}).map(([kind, s]) =>
      `${kind.toUpperCase()}: ${s.state === "ok" ? "works" : `failed: ${s.reason}`}`);
    status.textContent = parts.join(" · ");
  };
  const form = h("form", { id: "sip-nat" }, ice.element, stun.element,
    field("STUN server", stunServer, "An address, e.g. stun.example.com or 192.0.2.1:3478."),
    turn.element, field("TURN server", turnServer), field("TURN user name", turnUser),
    field("TURN password", turnPassword, nat.turnPasswordSet ? "Leave empty to keep the password." : ""),
    field("TURN transport", turnTransport, "How the device reaches the TURN server."),
    h("div", { class: "actions" }, apply), status, area);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(apply, async () => {
      try {
        const natTraversal = { ice: ice.box.checked, stun: stun.box.checked, stunServer: stunServer.value.trim(),
          turn: turn.box.checked, turnServer: turnServer.value.trim(), turnUser: turnUser.value.trim(),
          turnTransport: turnTransport.value };
        if (turnPassword.value) natTraversal.turnPassword = turnPassword.value;
        await sip("setSipConfiguration", { natTraversal });
        turnPassword.value = "";
        say(area, "ok", "NAT traversal settings applied.");
      } catch (error) {
        say(area, "error", error.message);
      }
      await showStatus().catch(() => {});
    });
  });
  showStatus().catch(() => {});
  const timer = setInterval(() => showStatus().catch(() => {}), 2000);  // a check finishes after a change
  whenGone(form, () => clearInterval(timer));
  return form;
}
