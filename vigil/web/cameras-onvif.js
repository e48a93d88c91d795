// The Cameras page's "ONVIF cameras" card: search the local network (recorder.cgi findCameras,
// WS-Discovery) or type a device's address, log in to it with its ONVIF account
// (getCameraStreams: GetProfiles, GetStreamUri) and add one of its streams as a camera in one
// click (the add dialog opens filled in with the address and credentials).

import * as api from "./api.js";
import { busy, card, clear, field, h, messageArea, say } from "./ui.js";

const recorder = (method, params) => api.jsonApi("/axis-cgi/recorder.cgi", "1.0", method, params);

function streamRow(stream, add) {
  const size = stream.width && stream.height ? `${stream.width}×${stream.height}` : "size not reported";
  return h(
    "tr",
    { "data-profile": stream.profile },
    h("td", { text: stream.name || stream.profile }),
    h("td", { text: `${stream.video}, ${size}` }),
    h("td", { text: stream.url }),
    h("td", {}, h("button", { type: "button", class: "primary", "aria-label": `Add ${stream.name || stream.profile}`, onclick: () => add(stream) }, "Add")),
  );
}

export default function onvifCard(app, actions) {
  const area = messageArea();
  const foundList = h("ul", { id: "onvif-found" });
  const address = h("input", { id: "onvif-address", autocomplete: "off", placeholder: "192.168.0.90 or http://192.168.0.90/onvif/device_service" });
  const username = h("input", { id: "onvif-username", autocomplete: "off", maxlength: "64" });
  const password = h("input", { id: "onvif-password", type: "password", autocomplete: "new-password", maxlength: "64" });
  const streamsBody = h("tbody");
  const streams = h(
    "table",
    { id: "onvif-streams", hidden: true },
    h("thead", {}, h("tr", {}, ["Profile", "Video", "Stream address", ""].map((t) => h("th", { text: t })))),
    streamsBody,
  );

  const search = h("button", { type: "button", id: "onvif-search" }, "Search the network");
  search.addEventListener("click", () =>
    busy(search, async () => {
      say(area, "info", "Searching for ONVIF cameras…");
      try {
        const { cameras } = await recorder("findCameras", {});
        clear(
          foundList,
          cameras.map((c) =>
            h(
              "li",
              {},
              h("button", { type: "button", class: "link", onclick: () => {
                address.value = c.address;
                username.focus();
              } }, `${c.name || c.hardware || "ONVIF device"} (${new URL(c.address).host})`),
            ),
          ),
        );
        say(area, cameras.length ? "ok" : "info", cameras.length ? `Found ${cameras.length}. Choose one, then log in to it.` : "No ONVIF camera answered. Type its address instead.");
      } catch (error) {
        app.fail(error, area);
      }
    }),
  );

  const read = h("button", { type: "submit", id: "onvif-read" }, "Show streams");
  const form = h(
    "form",
    { id: "onvif-form" },
    field("Device address", address, "The camera's IP address (host:port for another port), or its device service address."),
    field("ONVIF user name", username),
    field("ONVIF password", password),
    h("div", { class: "actions" }, read),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(read, async () => {
      if (!address.value.trim()) {
        say(area, "error", "Enter the device's address, or search the network.");
        address.focus();
        return;
      }
      say(area, "info", "Reading the camera's profiles…");
      try {
        const reply = await recorder("getCameraStreams", { address: address.value.trim(), username: username.value, password: password.value });
        const credentials = { username: username.value, password: password.value };
        clear(streamsBody, reply.streams.map((s) => streamRow(s, (stream) => actions.add({ name: stream.name || stream.profile, url: stream.url, ...credentials }))));
        streams.hidden = false;
        say(area, "ok", `${reply.streams.length} stream${reply.streams.length === 1 ? "" : "s"}: add one as a camera.`);
      } catch (error) {
        streams.hidden = true;
        app.fail(error, area);
      }
    });
  });

  return card("ONVIF cameras", h("div", { class: "actions" }, search), foundList, form, area, streams);
}
