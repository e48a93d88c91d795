// The account form's outbound proxies (the manual's account > Proxies): up to five, in the order
// they are used (the first is the next hop; "Up" moves one earlier), each with its server address
// and, when the proxy asks for them, a user name and password. A password is write-only: left
// empty, the proxy keeps the one it has (while it keeps its address and user name).

import { field, h } from "./ui.js";

const MAX_PROXIES = 5;

export function proxiesEditor(initial) {
  const element = h("div", { class: "stack", id: "sip-account-proxies" });
  const add = h("button", { type: "button", id: "sip-account-add-proxy" }, "Add proxy");
  let rows = (initial || []).map((p) => ({ address: p.address, user: p.user || "", password: "", passwordSet: Boolean(p.passwordSet) }));
  const read = () => {
    rows = [...element.querySelectorAll("[data-proxy]")].map((row, i) => ({
      ...rows[i],
      address: row.querySelector(".proxy-address").value.trim(),
      user: row.querySelector(".proxy-user").value.trim(),
      password: row.querySelector(".proxy-password").value,
    }));
  };
  const render = () => {
    element.replaceChildren(...rows.map((row, i) => {
      const address = h("input", { type: "text", class: "proxy-address", value: row.address });
      const user = h("input", { type: "text", class: "proxy-user", value: row.user, autocomplete: "off" });
      const password = h("input", { type: "password", class: "proxy-password", value: row.password, autocomplete: "new-password" });
      const up = h("button", { type: "button", "aria-label": `Move proxy ${i + 1} up`, disabled: i === 0 }, "Up");
      const remove = h("button", { type: "button", "aria-label": `Remove proxy ${i + 1}` }, "Remove");
      up.addEventListener("click", () => { read(); [rows[i - 1], rows[i]] = [rows[i], rows[i - 1]]; render(); });
      remove.addEventListener("click", () => { read(); rows.splice(i, 1); render(); });
      return h("div", { class: "stack", "data-proxy": String(i) },
        field(`Proxy ${i + 1} server address`, address, i === 0 ? "host:port; the first proxy is used first." : "host:port"),
        field(`Proxy ${i + 1} user name`, user, "Only if the proxy asks for credentials."),
        field(`Proxy ${i + 1} password`, password, row.passwordSet ? "Leave empty to keep the password." : ""),
        h("div", { class: "actions" }, up, remove));
    }), add);
    add.disabled = rows.length >= MAX_PROXIES;
  };
  add.addEventListener("click", () => { read(); rows.push({ address: "", user: "", password: "", passwordSet: false }); render(); });
  render();
  return {
    element,
    value: () => {
      read();
      return rows.filter((row) => row.address).map((row) => (row.password
        ? { address: row.address, user: row.user, password: row.password } : { address: row.address, user: row.user }));
    },
  };
}
