// Accounts > OpenID Configuration: the provider's discovery URL, client ID and secret (the
// secret is sent, never shown), the claims of the three roles, the required and remote-user
// claims, extra scopes, the outgoing proxy and "Enable OpenID"; and the client-credentials
// grant for API clients (the JWKS URI and its claims). Through the Device Configuration APIs
// /config/rest/oidcsetup/v1 and /config/rest/oauth-ccgrant/v1beta.

import * as api from "./api.js";
import { busy, card, field, h, messageArea, say, uid } from "./ui.js";

const SETUP = "/config/rest/oidcsetup/v1";
const CCG = "/config/rest/oauth-ccgrant/v1beta";

function input(name, type = "text") {
  return h("input", { name, type, autocomplete: type === "password" ? "new-password" : "off" });
}

function toggle(label) {
  const box = h("input", { type: "checkbox", role: "switch", id: uid("oidc") });
  return { box, row: h("div", { class: "check" }, box, h("label", { for: box.id, text: label })) };
}

export function oidcCard(app) {
  const area = messageArea();
  const url = input("provider-url", "url");
  const clientId = input("client-id");
  const secret = input("client-secret", "password");
  const admin = input("admin-claim");
  const operator = input("operator-claim");
  const viewer = input("viewer-claim");
  const require = input("require-claim");
  const remoteUser = input("remote-user");
  const scopes = input("scopes");
  const proxy = input("outgoing-proxy");
  const enabled = toggle("Enable OpenID");
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const form = h(
    "form",
    { novalidate: true, id: "oidc-form", class: "stack" },
    field("Provider URL", url, "https://host/.well-known/openid-configuration (the provider's discovery document)."),
    field("Client ID", clientId),
    field("Client secret", secret, "Leave empty to keep the secret the device has."),
    field("Admin claim", admin, "claim:value, for example roles:vigil-admin."),
    field("Operator claim", operator),
    field("Viewer claim", viewer),
    field("Require claim", require, "A claim every token must hold (optional)."),
    field("Remote user", remoteUser, "The claim that names the user: sub, email or preferred_username."),
    field("Scopes", scopes, "More scopes to ask for, separated by spaces (optional)."),
    field("Outgoing proxy", proxy, "Empty: the global proxies apply."),
    enabled.row,
    h("p", { class: "hint", text: `The provider sends the browser back to ${location.origin}/oidc/oauth2callback.` }),
    area,
    h("div", { class: "actions" }, save),
  );
  // Nothing can be typed before the stored settings are in, or they would overwrite it.
  const controls = [url, clientId, secret, admin, operator, viewer, require, remoteUser, scopes, proxy, enabled.box, save];
  const ready = (on) => controls.forEach((c) => { c.disabled = !on; });
  const load = async () => {
    const base = await api.configRest(`${SETUP}/BaseConfigEntity`);
    const auth = base.AuthEntity;
    url.value = base.OIDC_ProviderMetadataURL;
    clientId.value = auth.OIDC_ClientID;
    admin.value = auth.OIDC_AuthzAdminClaim;
    operator.value = auth.OIDC_AuthzOperatorClaim;
    viewer.value = auth.OIDC_AuthzViewerClaim;
    require.value = base.OIDC_RequireClaim;
    remoteUser.value = base.OIDC_RemoteUserClaim;
    scopes.value = auth.OIDC_AuthzScopes;
    proxy.value = base.OIDC_OutgoingProxy;
    enabled.box.checked = base.OIDC_Enabled;
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const authEntity = {
      OIDC_ClientID: clientId.value,
      OIDC_AuthzAdminClaim: admin.value,
      OIDC_AuthzOperatorClaim: operator.value,
      OIDC_AuthzViewerClaim: viewer.value,
      OIDC_AuthzScopes: scopes.value,
    };
    if (secret.value) authEntity.OIDC_ClientSecret = secret.value;
    const data = {
      OIDC_ProviderMetadataURL: url.value,
      OIDC_RequireClaim: require.value,
      OIDC_RemoteUserClaim: remoteUser.value,
      OIDC_OutgoingProxy: proxy.value,
      OIDC_Enabled: enabled.box.checked,
      AuthEntity: authEntity,
    };
    await busy(save, async () => {
      try {
        await api.configRest(`${SETUP}/BaseConfigEntity`, data);
      } catch (error) {
        app.fail(error, area);
        return;
      }
      secret.value = "";
      say(area, "ok", enabled.box.checked ? "Saved. The login page offers the provider." : "Saved.");
    });
  });
  ready(false);
  load().catch((error) => app.fail(error, area)).finally(() => ready(true));
  return card("OpenID Configuration", form);
}

export function ccgCard(app) {
  const area = messageArea();
  const verify = input("jwks-uri", "url");
  const require = input("ccg-require-claim");
  const admin = input("ccg-admin-claim");
  const operator = input("ccg-operator-claim");
  const viewer = input("ccg-viewer-claim");
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const form = h(
    "form",
    { novalidate: true, id: "ccg-form", class: "stack" },
    field("Verification URI", verify, "The provider's JWKS URI; empty turns bearer tokens off."),
    field("Require claim", require),
    field("Admin claim", admin),
    field("Operator claim", operator),
    field("Viewer claim", viewer),
    area,
    h("div", { class: "actions" }, save),
  );
  const controls = {
    CCG_OAuth2TokenVerify: verify,
    CCG_RequireClaim: require,
    CCG_AuthzAdminClaim: admin,
    CCG_AuthzOperatorClaim: operator,
    CCG_AuthzViewerClaim: viewer,
  };
  api
    .configRest(`${CCG}/AuthEntity`)
    .then((data) => Object.entries(controls).forEach(([name, control]) => (control.value = data[name])))
    .catch((error) => app.fail(error, area));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(Object.entries(controls).map(([name, control]) => [name, control.value]));
    await busy(save, async () => {
      try {
        await api.configRest(`${CCG}/AuthEntity`, data);
        say(area, "ok", "Saved.");
      } catch (error) {
        app.fail(error, area);
      }
    });
  });
  return card("Client Credentials Grant Configuration", form);
}
