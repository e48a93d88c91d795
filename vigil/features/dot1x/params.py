"""The `Network.Interface.I0.dot1x.*` parameters (the manual's IEEE 802.1X and MACsec settings)
and the check of a change as a whole: 802.1X turned on needs what its method needs."""

from __future__ import annotations

import re
from collections.abc import Callable

from vigil.core.params import ParamDef, ParamTree, applied
from vigil.features.certificates.service import Keystore
from vigil.features.dot1x import const as c
from vigil.features.dot1x.certs import CredentialError, ca_certificate, tls_credentials
from vigil.hal.dot1x import EAP_TLS, MACSEC_PSK, METHODS, PEAP_MSCHAPV2

CKN = re.compile(r"(?:[0-9A-Fa-f]{2}){1,32}")
CAK = re.compile(r"[0-9A-Fa-f]{32}|[0-9A-Fa-f]{64}")


def no_quotes(value: str) -> str | None:
    return 'the character " cannot be used' if '"' in value else None


def ckn(value: str) -> str | None:
    return None if not value or CKN.fullmatch(value) else "2 to 64 hexadecimal characters, an even number of them"


def cak(value: str) -> str | None:
    return None if not value or CAK.fullmatch(value) else "32 or 64 hexadecimal characters"


def cert_id(value: str) -> str | None:
    return None if not value or re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value) else "not a certificate id"


def param_defs(status: Callable[[], str]) -> list[ParamDef]:
    owner = applied("dot1x", how="listener", note="the port authenticates again at once")
    text = {"check": no_quotes, "maxlen": 128, "owner": owner}
    return [
        ParamDef(c.ENABLED, "no", "bool", owner=owner),
        ParamDef(c.EAPOL_VERSION, "1", "enum", ("1", "2"), owner=owner),
        ParamDef(c.METHOD, EAP_TLS, "enum", METHODS, owner=owner),
        ParamDef(c.CA_CERT, "", check=cert_id, owner=owner),
        ParamDef(c.TLS_IDENTITY, "", **text),
        ParamDef(c.TLS_CERT, "", check=cert_id, owner=owner),
        ParamDef(c.TLS_KEY_PASSWORD, "", "password", maxlen=64, check=no_quotes, owner=owner),
        ParamDef(c.PEAP_IDENTITY, "", **text),
        ParamDef(c.PEAP_PASSWORD, "", "password", maxlen=64, check=no_quotes, owner=owner),
        ParamDef(c.PEAP_VERSION, "0", "enum", ("0", "1"), owner=owner),
        ParamDef(c.PEAP_LABEL, "1", "enum", ("1", "2"), owner=owner),
        ParamDef(c.MACSEC_CKN, "", check=ckn, maxlen=64, owner=owner),
        ParamDef(c.MACSEC_CAK, "", "password", check=cak, maxlen=64, owner=owner),
        ParamDef(c.STATUS, "", write=None, dynamic=status),
    ]


def veto(params: ParamTree, keystore: Keystore, new: dict[str, str]) -> tuple[str, str] | None:
    """Why a change cannot be stored (the parameter at fault and the reason), or None."""
    if not any(name.startswith(c.P) for name in new):
        return None

    def value(name: str) -> str:
        return new[name] if name in new else params.get(name)

    if value(c.ENABLED) != "yes":
        return None
    method = value(c.METHOD)
    if method == EAP_TLS:
        if not value(c.TLS_IDENTITY):
            return c.TLS_IDENTITY, "EAP-TLS needs the EAP identity of the client certificate"
        if not value(c.TLS_CERT):
            return c.TLS_CERT, "EAP-TLS needs a client certificate"
        try:
            tls_credentials(keystore, value(c.TLS_CERT), value(c.TLS_KEY_PASSWORD))
        except CredentialError as err:
            return c.TLS_CERT, str(err)
    if method == PEAP_MSCHAPV2:
        if not value(c.PEAP_IDENTITY):
            return c.PEAP_IDENTITY, "PEAP-MSCHAPv2 needs an identity"
        if not value(c.PEAP_PASSWORD):
            return c.PEAP_PASSWORD, "PEAP-MSCHAPv2 needs the identity's password"
    if method == MACSEC_PSK:
        if not value(c.MACSEC_CKN):
            return c.MACSEC_CKN, "MACsec needs the connectivity association key name (CKN)"
        if not value(c.MACSEC_CAK):
            return c.MACSEC_CAK, "MACsec needs the connectivity association key (CAK)"
    if method != MACSEC_PSK and value(c.CA_CERT):
        try:
            ca_certificate(keystore, value(c.CA_CERT))
        except CredentialError as err:
            return c.CA_CERT, str(err)
    return None
