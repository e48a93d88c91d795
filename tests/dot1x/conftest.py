"""The 802.1X tests' certificates, made once per module."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dot1x.certs import EapCerts, eap_certs


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> EapCerts:
    return eap_certs(Path(tmp_path_factory.mktemp("eap")), "vigil-s3016")
