// An OpenID provider for the tests (npm oidc-provider, OpenID-certified): one confidential web
// client for the device's login (code flow, PKCE), API clients for the client-credentials grant
// whose access tokens are JWTs, and accounts whose "roles" claim the device maps to its roles.
// Configuration comes as JSON in the first argument; the provider prints "ready" when it listens.
import Provider from "oidc-provider";

const cfg = JSON.parse(process.argv[2]);
const accounts = cfg.accounts; // login -> {roles: [...], email}
const apiClients = cfg.apiClients; // client_id -> {secret, roles}

const provider = new Provider(cfg.issuer, {
  clients: [
    {
      client_id: cfg.clientId,
      client_secret: cfg.clientSecret,
      redirect_uris: cfg.redirectUris,
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
    ...Object.entries(apiClients).map(([id, c]) => ({
      client_id: id,
      client_secret: c.secret,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
    })),
  ],
  claims: { openid: ["sub"], email: ["email"], roles: ["roles"] },
  scopes: ["openid", "email", "roles", "vapix"],
  conformIdTokenClaims: false, // the roles in the ID token itself, as Entra puts app roles there
  async findAccount(ctx, sub) {
    if (!(sub in accounts)) return undefined;
    return { accountId: sub, async claims() { return { sub, ...accounts[sub] }; } };
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => cfg.resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: "vapix", audience: cfg.resource, accessTokenFormat: "jwt" }),
    },
  },
  async extraTokenClaims(ctx, token) {
    const api = apiClients[token.clientId];
    return api ? { roles: api.roles } : undefined;
  },
  pkce: { required: () => false },
  ttl: { AccessToken: 600, ClientCredentials: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
});
provider.listen(cfg.port, "127.0.0.1", () => console.log("ready"));
