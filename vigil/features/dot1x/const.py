"""The 802.1X parameters' names and the simulation API's path."""

from __future__ import annotations

P = "Network.Interface.I0.dot1x."
ENABLED = "Network.Interface.I0.dot1x.Enabled"
EAPOL_VERSION = "Network.Interface.I0.dot1x.EAPOLVersion"
METHOD = "Network.Interface.I0.dot1x.Method"
CA_CERT = "Network.Interface.I0.dot1x.CACertID"
TLS_IDENTITY = "Network.Interface.I0.dot1x.EAPTLS.Identity"
TLS_CERT = "Network.Interface.I0.dot1x.EAPTLS.ClientCertID"
TLS_KEY_PASSWORD = "Network.Interface.I0.dot1x.EAPTLS.PrivateKeyPassword"
PEAP_IDENTITY = "Network.Interface.I0.dot1x.PEAP.Identity"
PEAP_PASSWORD = "Network.Interface.I0.dot1x.PEAP.Password"
PEAP_VERSION = "Network.Interface.I0.dot1x.PEAP.Version"
PEAP_LABEL = "Network.Interface.I0.dot1x.PEAP.Label"
MACSEC_CKN = "Network.Interface.I0.dot1x.MACsec.CKN"
MACSEC_CAK = "Network.Interface.I0.dot1x.MACsec.CAK"
STATUS = "Network.Interface.I0.dot1x.Status"

SIM_DOT1X = "/vigil/sim/dot1x"
