// Audio clips (Audio > Audio clips in the C1410 manual): add a clip (.au, .mp3, .opus, .vorbis,
// .wav; the device checks it by decoding it), play and stop it, rename, create a link that plays
// it with a volume and a repeat count (for another device's HTTP recipient), download and delete.
// Everything goes through the VAPIX Media clip API (mediaclip.cgi) and the MediaClip parameters.

import * as api from "./api.js";
import { busy, card, confirmAction, download, field, h, messageArea, modal, numberInput, say } from "./ui.js";

const CGI = "/axis-cgi/mediaclip.cgi";
const ACCEPT = ".au,.mp3,.opus,.ogg,.oga,.vorbis,.wav";

/** A mediaclip.cgi call: the reply's text after "OK", or an ApiError with the device's "Error: ..." text. */
async function mediaclip(args, init = {}) {
  const response = await api.request(`${CGI}?${new URLSearchParams(args)}`, { ...init, allow: [400] });
  if (response.status === 400) {
    throw new api.ApiError((await response.text()).replace(/^Error:\s*/, "").trim(), 400);
  }
  return response;
}

/** The URL that plays `clip` on this device: what "Create link" copies. */
export function playLink(clip, volume, repeat) {
  const query = new URLSearchParams({ clip, volume: String(volume), repeat: String(repeat) });
  return `${window.location.origin}/axis-cgi/playclip.cgi?${query}`;
}

async function listClips() {
  const values = await api.listParams(["MediaClip"]);
  return Object.keys(values)
    .map((name) => /^MediaClip\.M(\d+)\.Name$/.exec(name))
    .filter(Boolean)
    .map((match) => ({ id: match[1], name: values[match[0]] }))
    .sort((a, b) => Number(a.id) - Number(b.id));
}

async function createLink(clip) {
  const volume = numberInput(100, 0, 100);
  volume.id = "clip-link-volume";
  const repeat = numberInput(0, 0, 100);
  repeat.id = "clip-link-repeat";
  const link = h("input", { type: "text", id: "clip-link", readonly: true, "aria-label": "Link" });
  const copy = h("button", { type: "button", id: "clip-link-copy" }, "Copy");
  const update = () => {
    link.value = playLink(clip.id, volume.value || 0, repeat.value || 0);
  };
  volume.addEventListener("input", update);
  repeat.addEventListener("input", update);
  copy.addEventListener("click", () => {
    link.select();
    navigator.clipboard?.writeText(link.value).catch(() => {});
  });
  update();
  await modal({
    title: `Link to ${clip.name}`,
    content: h("div", {},
      field("Volume (%)", volume),
      field("Repeat", repeat, "How many more times the clip plays: 0 plays it once."),
      field("Link", h("div", { class: "inline-form" }, link, copy),
        "Paste it into the URL of an HTTP recipient; the recipient needs this device's user name and password.")),
    buttons: [{ label: "Close", value: "ok", class: "primary" }],
  });
}

export default async function audioClipsPage(container, app) {
  const area = messageArea();
  const rows = h("tbody", { id: "clip-rows" });
  const table = h("table", { id: "clip-table" },
    h("thead", {}, h("tr", {}, h("th", { text: "Name" }), h("th", { text: "Actions" }))), rows);
  const empty = h("p", { class: "hint", id: "clip-empty", text: "No clips yet. Add one above." });

  const act = async (button, what, done) => {
    await busy(button, async () => {
      try {
        await what();
        if (done) say(area, "ok", done);
      } catch (error) {
        if (error instanceof api.ApiError && error.status === 401) app.fail(error);
        else say(area, "error", error.message);
      }
    });
  };

  const render = async () => {
    const clips = await listClips();
    empty.hidden = clips.length > 0;
    table.hidden = clips.length === 0;
    rows.replaceChildren(...clips.map((clip) => {
      const button = (label, text, onClick, cls = "") => {
        const b = h("button", { type: "button", class: cls, "aria-label": `${label} ${clip.name}` }, text);
        b.addEventListener("click", () => onClick(b));
        return b;
      };
      return h("tr", { "data-clip": clip.id },
        h("td", { text: clip.name }),
        h("td", { class: "actions" },
          button("Play", "▷ Play", (b) => act(b, () => mediaclip({ action: "play", clip: clip.id }), `Playing ${clip.name}.`)),
          button("Stop", "□ Stop", (b) => act(b, () => mediaclip({ action: "stop" }), "Stopped.")),
          button("Rename", "Rename", async (b) => {
            const name = window.prompt("New name", clip.name);
            if (name === null) return;
            await act(b, async () => {
              await mediaclip({ action: "update", clip: clip.id, name });
              await render();
            }, `Renamed to ${name}.`);
          }),
          button("Create link for", "Create link", () => createLink(clip)),
          button("Download", "Download", (b) => act(b, async () => {
            const response = await mediaclip({ action: "download", clip: clip.id });
            const type = response.headers.get("content-type") || "";
            const ext = { "audio/basic": "au", "audio/wav": "wav", "audio/mpeg": "mp3", "audio/ogg": "ogg" }[type] || "bin";
            download(await response.blob(), `${clip.name}.${ext}`);
          })),
          button("Delete", "Delete", async (b) => {
            if (!(await confirmAction("Delete clip", `Delete ${clip.name}? Rules that play it will not play anything.`, "Delete"))) return;
            await act(b, async () => {
              await mediaclip({ action: "remove", clip: clip.id });
              await render();
            }, `Deleted ${clip.name}.`);
          }, "danger"),
        ));
    }));
  };

  const file = h("input", { type: "file", id: "clip-file", accept: ACCEPT });
  const name = h("input", { type: "text", id: "clip-name", maxlength: "64" });
  const add = h("button", { type: "submit", class: "primary", id: "clip-add" }, "Add clip");
  const form = h("form", { id: "clip-form" },
    field("Audio file", file, "You can use .au, .mp3, .opus, .vorbis and .wav files."),
    field("Name", name, "Leave empty to use the file's name."),
    h("div", { class: "actions" }, add));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!file.files.length) {
      say(area, "error", "Choose an audio file first.");
      return;
    }
    const body = new FormData();
    body.append("file", file.files[0]);
    const args = { action: "upload", media: "audio" };
    if (name.value.trim()) args.name = name.value.trim();
    await act(add, async () => {
      await mediaclip(args, { method: "POST", body });
      form.reset();
      await render();
    }, `Added ${name.value.trim() || file.files[0].name}.`);
  });

  await render();
  container.append(
    card("Add clip", form),
    area,
    card("Audio clips", empty, h("div", { class: "table-wrap" }, table),
      h("p", { class: "hint", text: "A clip that starts playing stops the clip that plays. While someone talks " +
        "through the speaker (transmit, ONVIF backchannel), clips do not play." })),
  );
}
