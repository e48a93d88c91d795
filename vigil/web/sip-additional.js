// SIP page, Additional (the manual's SIP settings > Additional): UDP-to-TCP switching, how often
// the device registers with the SIP server, the DTMF payload type it offers, and the attempts to
// reach an unreachable SIP server before it stops trying (0: never stops).

import { busy, checkbox, field, h, messageArea, numberInput, say } from "./ui.js";

export function additionalCard(settings, sip) {
  const area = messageArea();
  const udpToTcp = checkbox("UDP-to-TCP switching", settings.udpToTcp,
    "A request larger than 1300 bytes goes over TCP instead of UDP, so that it is not fragmented.");
  const inputs = {
    registerInterval: numberInput(settings.registerInterval, 60, 86400),
    dtmfPayloadType: numberInput(settings.dtmfPayloadType, 96, 127),
    maxRetransmissions: numberInput(settings.maxRetransmissions, 0, 10),
  };
  Object.entries(inputs).forEach(([name, input]) => { input.id = `sip-${name}`; });
  const save = h("button", { type: "submit", class: "primary", id: "sip-additional-save" }, "Save additional settings");
  const form = h("form", { id: "sip-additional" }, udpToTcp.element,
    field("Register with server every (s)", inputs.registerInterval, "The registration time every account asks for: 60 to 86400 seconds."),
    field("DTMF payload type", inputs.dtmfPayloadType, "96 to 127: the RTP payload type of DTMF the device offers; answering, it takes the caller's."),
    field("Max retransmissions", inputs.maxRetransmissions, "Attempts to reach the SIP server before the device stops trying; 0: never stops."),
    h("div", { class: "actions" }, save), area);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(save, async () => {
      try {
        const params = { udpToTcp: udpToTcp.box.checked };
        Object.entries(inputs).forEach(([name, input]) => { params[name] = Number(input.value); });
        await sip("setSipConfiguration", params);
        say(area, "ok", "Additional SIP settings saved.");
      } catch (error) {
        say(area, "error", error.message);
      }
    });
  });
  return form;
}
