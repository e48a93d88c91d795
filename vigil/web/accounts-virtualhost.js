// Accounts > Virtual host: the device's two hosts, HTTP and HTTPS, with their ports and whether
// they are on (Network page, Ports), and the authentication type browsers and clients are asked
// for (Network.HTTP.AuthenticationPolicy, applied to the next request). Adding hosts of other
// names is not offered: the device answers every name on its two ports.

import * as api from "./api.js";
import { busy, card, field, h, messageArea, say, select } from "./ui.js";

const TYPES = [
  ["basic_digest", "Basic and Digest"],
  ["digest", "Digest (Basic is refused)"],
  ["basic", "Basic"],
];

export function virtualHostCard(app) {
  const area = messageArea();
  const body = h("div", { class: "table-wrap" });
  const type = select({ id: "virtual-host-type" }, TYPES);
  const save = h("button", { type: "submit", class: "primary", id: "virtual-host-save" }, "Save");
  const form = h("form", { id: "virtual-host-form", novalidate: true },
    card("Virtual host", body, field("Type", type, "The authentication the hosts ask for."), area, h("div", { class: "actions" }, save)));
  api
    .listParams(["Network.HTTP", "HTTPS"])
    .then((values) => {
      type.value = values["Network.HTTP.AuthenticationPolicy"] || "basic_digest";
      const row = (name, port, on) => h("tr", { "data-host": name },
        h("th", { scope: "row", text: name }), h("td", { text: port }), h("td", { text: on ? "Enabled" : "Disabled" }));
      body.replaceChildren(h("table", { id: "virtual-host-table" }, h("caption", { text: "Hosts" }),
        h("thead", {}, h("tr", {}, ["Server name", "Port", "State"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {},
          row("default-http", values["Network.HTTP.Port"], true),
          row("default-https", values["HTTPS.Port"], values["HTTPS.Enabled"] === "yes"))));
    })
    .catch((error) => app.fail(error, area));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(save, async () => {
      try {
        await api.updateParams({ "root.Network.HTTP.AuthenticationPolicy": type.value });
        say(area, "ok", "Saved. The next requests are asked for this authentication.");
      } catch (error) {
        app.fail(error, area);
      }
    });
  });
  return form;
}
