// Live view (recorders only): one tile per recorded camera, each playing the camera's own video as
// it arrives, without transcoding. /vigil/live?camera=N sends a fragmented MP4 stream (the init
// segment, the frames since the latest key frame, then each frame as the camera sends it); the tile
// appends it to a MediaSource and keeps the picture at the live edge. A stream that ends (the camera
// went away) or fails is tried again after a while; leaving the page ends every stream.

import * as api from "./api.js";
import { clear, h, messageArea, say } from "./ui.js";

const LIVE = "/vigil/live";
const RETRY_MS = 3000;
const EDGE = 0.3; // seconds behind the newest frame the tile plays at
const MAX_BEHIND = 1.5; // further behind than this (a stalled tab), jump to the edge
const KEEP = 10; // seconds of played video kept in the buffer

const recorder = (method, params) => api.jsonApi("/axis-cgi/recorder.cgi", "1.0", method, params);

/** The error message of a JSON error reply, or a generic one. */
async function problem(response) {
  try {
    const body = await response.json();
    if (body.error?.message) return body.error.message;
  } catch {
    // not JSON: fall through
  }
  return `The device answered ${response.status}.`;
}

/** Play one stream of `camera` in `video` until it ends; resolves with why it ended ("" when it
 * simply ended), and throws an ApiError the tile should show. */
async function playOnce(video, camera, signal, onStatus) {
  let response;
  try {
    response = await fetch(`${LIVE}?camera=${camera}`, {
      headers: { "X-Requested-With": "vigil" },
      credentials: "same-origin",
      cache: "no-store",
      signal,
    });
  } catch (error) {
    if (signal.aborted) return "";
    throw new api.ApiError("The device did not answer.");
  }
  if (!response.ok) throw new api.ApiError(await problem(response), response.status);
  const mime = response.headers.get("Content-Type");
  if (!window.MediaSource || !MediaSource.isTypeSupported(mime)) {
    response.body.cancel();
    throw new api.ApiError(`This browser cannot play the camera's video (${mime}).`, -1);
  }
  const media = new MediaSource();
  const url = URL.createObjectURL(media);
  video.src = url;
  await new Promise((resolve) => media.addEventListener("sourceopen", resolve, { once: true }));
  URL.revokeObjectURL(url);
  const buffer = media.addSourceBuffer(mime);
  const queue = [];
  let failure = null;

  function toEdge() {
    const ranges = video.buffered;
    if (!ranges.length) return;
    const end = ranges.end(ranges.length - 1);
    const start = ranges.start(ranges.length - 1);
    if (video.currentTime < start || end - video.currentTime > MAX_BEHIND) video.currentTime = Math.max(start, end - EDGE);
  }

  function pump() {
    if (buffer.updating || media.readyState !== "open") return;
    const ranges = buffer.buffered;
    if (ranges.length && video.currentTime - ranges.start(0) > 2 * KEEP) {
      buffer.remove(0, video.currentTime - KEEP); // updateend pumps again
      return;
    }
    if (!queue.length) return;
    const size = queue.reduce((n, chunk) => n + chunk.byteLength, 0);
    const data = new Uint8Array(size);
    let at = 0;
    for (const chunk of queue) {
      data.set(chunk, at);
      at += chunk.byteLength;
    }
    queue.length = 0;
    try {
      buffer.appendBuffer(data);
    } catch (error) {
      failure = error;
    }
  }

  buffer.addEventListener("updateend", () => {
    toEdge();
    if (video.paused && video.readyState >= 2) video.play().catch(() => {});
    pump();
  });
  buffer.addEventListener("error", () => {
    failure = new Error("the browser could not decode the stream");
  });
  const reader = response.body.getReader();
  let first = true;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || failure) break;
      queue.push(value);
      pump();
      if (first) {
        first = false;
        onStatus("");
      }
    }
  } catch (error) {
    if (!signal.aborted) failure = failure || error;
  } finally {
    reader.cancel().catch(() => {});
  }
  if (failure && !signal.aborted) throw new api.ApiError(`The live stream stopped: ${failure.message || failure}.`);
  return signal.aborted ? "" : "The camera's stream ended.";
}

function tile(source, signal) {
  const label = source.name ? `${source.name} (${source.id})` : source.id;
  const video = h("video", { muted: true, autoplay: true, playsinline: true, "aria-label": `Live video of ${label}`, "data-camera": String(source.camera) });
  video.muted = true;
  const status = messageArea();
  const element = h("figure", { class: "live-tile", "data-source": source.id }, video, h("figcaption", { text: label }), status);

  async function run() {
    while (!signal.aborted) {
      say(status, "", "Connecting…");
      let retry = true;
      try {
        const ended = await playOnce(video, source.camera, signal, (text) => say(status, "", text));
        if (ended) say(status, "", `${ended} Reconnecting…`);
      } catch (error) {
        say(status, "error", error.message);
        retry = error.status !== 404 && error.status !== -1 && error.status !== 401 && error.status !== 403;
      }
      if (!retry || signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  run();
  return element;
}

export default async function livePage(container) {
  const area = messageArea();
  const grid = h("div", { class: "live-grid", id: "live-grid" });
  container.append(area, grid);
  const controller = new AbortController();
  api.whenGone(container, () => controller.abort());
  let sources;
  try {
    sources = (await recorder("listSources")).sources;
  } catch (error) {
    say(area, "error", error.message);
    return;
  }
  const shown = sources.filter((s) => s.enabled);
  if (!shown.length) {
    clear(grid, h("p", { class: "muted", text: "No cameras are recorded." }));
    return;
  }
  for (const source of shown) grid.append(tile(source, controller.signal));
}
