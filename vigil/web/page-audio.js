// Audio (Audio > Device settings and Stream in the C1410 manual): the microphone (on/off, gain,
// mute, input type, power type), the speaker (gain, mute), the encoding of the input's stream and
// echo cancellation. Device settings go through the Audio Device Control API, the stream settings
// through param.cgi (AudioSource.A0.*); operators and administrators, as both allow.

import * as api from "./api.js";
import { busy, card, checkbox, field, h, messageArea, say, select } from "./ui.js";

const adc = (method, params) => api.jsonApi("/axis-cgi/audiodevicecontrol.cgi", "1.0", method, params);
const ENCODINGS = [
  ["g711", "G.711 (μ-law, 8 kHz)"],
  ["aac", "AAC (16 kHz)"],
  ["opus", "Opus (48 kHz)"],
];

/** A gain slider with its value shown in dB. */
function gainSlider(id, label, values, value) {
  const input = h("input", { type: "range", id, min: String(values[0]), max: String(values[values.length - 1]), step: "1", value: String(value) });
  const shown = h("output", { for: id, id: `${id}-value`, text: `${value} dB` });
  input.addEventListener("input", () => {
    shown.textContent = `${input.value} dB`;
  });
  return { input, element: field(label, h("div", { class: "inline-form" }, input, shown)) };
}

const selected = (port) => port.connectionTypes.find((t) => t.id === port.connectionTypeSelected);
const signaling = (connection) => connection.signalingTypes.find((s) => s.id === connection.signalingTypeSelected) || connection.signalingTypes[0];

export default async function audioPage(container, app) {
  const [caps, settings, values] = await Promise.all([
    adc("getDevicesCapabilities"),
    adc("getDevicesSettings"),
    api.listParams(["AudioSource"]),
  ]);
  const capDevice = caps.devices[0];
  const device = settings.devices[0];
  const input = device.inputs[0];
  const output = device.outputs[0];
  const inCaps = capDevice.inputs[0].connectionTypes;
  const outCaps = capDevice.outputs[0].connectionTypes[0].signalingTypes[0];
  const inSignal = signaling(selected(input));
  const outSignal = signaling(selected(output));

  const inputOn = checkbox("Input", input.enabled, "Turn the built-in microphone on or off.");
  const inputGain = gainSlider("audio-input-gain", "Input gain", inCaps[0].signalingTypes[0].gainValues, inSignal.channels[0].gain);
  const inputMute = checkbox("Mute input", inSignal.channels[0].mute);
  const inputType = select({ id: "audio-input-type" }, inCaps.map((t) => [t.id, t.id === "internal" ? "Built-in microphone" : t.id]));
  inputType.value = input.connectionTypeSelected;
  const powerType = select({ id: "audio-power-type" }, []);
  const showPowers = () => {
    const kind = inCaps.find((t) => t.id === inputType.value);
    powerType.replaceChildren(...kind.signalingTypes[0].powerTypes.map((p) => h("option", { value: p, text: p })));
  };
  showPowers();
  powerType.value = inSignal.powerType;
  inputType.addEventListener("change", showPowers);

  const outputGain = gainSlider("audio-output-gain", "Output gain", outCaps.gainValues, outSignal.channels[0].gain);
  const outputMute = checkbox("Mute output", outSignal.channels[0].mute);

  const encoding = select({ id: "audio-encoding" }, ENCODINGS);
  encoding.value = values["AudioSource.A0.AudioEncoding"] || "g711";
  const echo = checkbox("Echo cancellation", values["AudioSource.A0.EchoCancellation"] === "yes",
    "Removes echoes during two-way communication: the microphone is suppressed while the speaker plays.");
  const enableHint = h("p", { class: "hint", id: "audio-encoding-hint" });
  const showInputState = () => {
    const on = inputOn.box.checked;
    encoding.disabled = !on;
    enableHint.textContent = on ? "" : "You can only choose encoding if audio input is turned on: turn on Input above.";
  };
  inputOn.box.addEventListener("change", showInputState);
  showInputState();

  const area = messageArea();
  const save = h("button", { type: "submit", class: "primary", id: "audio-save" }, "Save");
  const form = h(
    "form",
    { id: "audio-form" },
    card(
      "Device settings",
      h("fieldset", {}, h("legend", { text: `Input: ${input.name}` }), inputOn.element, inputGain.element, inputMute.element,
        field("Input type", inputType), field("Power type", powerType)),
      h("fieldset", {}, h("legend", { text: `Output: ${output.name}` }), outputGain.element, outputMute.element),
    ),
    card("Stream", field("Encoding", encoding, "The encoding of the input's live stream."), enableHint, echo.element),
    area,
    h("div", { class: "actions" }, save),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const channel = (gain, mute) => [{ id: 0, gain: Number(gain.input.value), mute: mute.box.checked }];
    const devices = [{
      id: device.id,
      inputs: [{
        id: input.id,
        enabled: inputOn.box.checked,
        connectionTypeSelected: inputType.value,
        connectionTypes: [{ id: inputType.value, signalingTypeSelected: inSignal.id, signalingTypes: [
          { id: inSignal.id, powerType: powerType.value, channels: channel(inputGain, inputMute) }] }],
      }],
      outputs: [{
        id: output.id,
        connectionTypes: [{ id: output.connectionTypeSelected, signalingTypeSelected: outSignal.id, signalingTypes: [
          { id: outSignal.id, channels: channel(outputGain, outputMute) }] }],
      }],
    }];
    await busy(save, async () => {
      try {
        await adc("setDevicesSettings", { devices });
        const stream = { "root.AudioSource.A0.EchoCancellation": echo.box.checked ? "yes" : "no" };
        if (inputOn.box.checked) stream["root.AudioSource.A0.AudioEncoding"] = encoding.value;
        await api.updateParams(stream);
        say(area, "ok", "Saved. The speaker and the microphone use the new settings now.");
      } catch (error) {
        if (error instanceof api.ApiError && error.status === 401) app.fail(error);
        else say(area, "error", error.message);
      }
    });
  });
  container.append(form);
}
