"""The signed release package (vigil.release.package): `vigil package` builds one from this tree,
and every kind of damage or foreign signature is refused with the firmware management API's code."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.release.signing import release, release_key
from vigil.cli import main
from vigil.core.archive import extract
from vigil.release import package
from vigil.release.package import Manifest, PackageError, public_key_der, signer_public_key, verify


@pytest.fixture(scope="module")
def key():
    return release_key()


@pytest.fixture(scope="module")
def built(tmp_path_factory, key) -> Path:
    """A release of a small tree (the damage tests rewrite it many times; the CLI test packs the real one)."""
    tree = tmp_path_factory.mktemp("tree")
    (tree / "vigil" / "web").mkdir(parents=True)
    (tree / "vigil" / "__init__.py").write_text('__version__ = "0.1.0"\n')
    for name in ("boot.py", "cli.py", "web/index.html"):
        (tree / "vigil" / name).write_text(f"# {name}\n" * 50)
    return release(tmp_path_factory.mktemp("rel") / "v2.tar.gz", key, "0.2.0", source=tree)


def vigil_cli(*argv: str) -> int:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    return done.value.code


def trusted(key) -> list[bytes]:
    return [public_key_der(signer_public_key(key.cert_pem))]


def unpack(archive: Path, folder: Path) -> tuple[Path, list[str]]:
    return folder, extract(archive, folder)


def rewrite(source: Path, target: Path, change, extra: tuple[str, bytes] | None = None) -> Path:
    """A copy of the release `source` with its members passed through `change(name, data)`
    (None drops the member), and `extra` added."""
    with tarfile.open(source) as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers() if m.isfile()]
    with tarfile.open(target, "w") as out:
        for name, data in [*members, *([extra] if extra else [])]:
            data = change(name, data)
            if data is None:
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return target


def refusal(archive: Path, folder: Path, keys: list[bytes]) -> PackageError:
    with pytest.raises(PackageError) as caught:
        verify(*unpack(archive, folder), keys)
    return caught.value


def test_the_cli_builds_a_release_of_this_tree_that_verifies(tmp_path: Path, key) -> None:
    (tmp_path / "k.pem").write_bytes(key.key_pem)
    (tmp_path / "c.pem").write_bytes(key.cert_pem)
    out = tmp_path / "r.tar.gz"
    assert vigil_cli("package", "--version", "1.2.3", "--profiles", "s3016,w401", "--key", str(tmp_path / "k.pem"),
                     "--cert", str(tmp_path / "c.pem"), "--out", str(out)) == 0
    manifest = verify(*unpack(out, tmp_path / "u"), trusted(key))
    assert manifest.version == "1.2.3" and manifest.profiles == ("s3016", "w401")
    init = (tmp_path / "u" / "payload" / "vigil" / "__init__.py").read_text()
    assert '__version__ = "1.2.3"' in init  # the packaged program reports the release's version
    assert "vigil/web/index.html" in manifest.files and "vigil/profiles/s3016.toml" in manifest.files
    assert not any("__pycache__" in name for name in manifest.files)


def test_the_cli_refuses_an_unknown_profile_and_a_key_that_is_not_the_certificates(tmp_path: Path, key, capsys) -> None:
    other = release_key("someone else")
    (tmp_path / "k.pem").write_bytes(key.key_pem)
    (tmp_path / "c.pem").write_bytes(other.cert_pem)
    base = ("package", "--version", "1.0.0", "--key", str(tmp_path / "k.pem"), "--out", str(tmp_path / "r.tgz"))
    assert vigil_cli(*base, "--profiles", "q9999") == 2
    assert "unknown profiles" in capsys.readouterr().err
    assert vigil_cli(*base, "--cert", str(tmp_path / "c.pem")) == 2
    assert "not the release key's" in capsys.readouterr().err
    assert not (tmp_path / "r.tgz").exists()


def test_a_tampered_payload_file_is_refused(tmp_path: Path, built: Path, key) -> None:
    tampered = rewrite(built, tmp_path / "t.tgz", lambda n, d: d + b"import os\n" if n.endswith("vigil/boot.py") else d)
    err = refusal(tampered, tmp_path / "u", trusted(key))
    assert err.code == package.INVALID and "vigil/boot.py" in err.message and "altered" in err.message


def test_an_added_or_missing_payload_file_is_refused(tmp_path: Path, built: Path, key) -> None:
    dropped = rewrite(built, tmp_path / "d.tgz", lambda n, d: None if n.endswith("vigil/cli.py") else d)
    err = refusal(dropped, tmp_path / "u1", trusted(key))
    assert err.code == package.INVALID and "vigil/cli.py" in err.message
    added = rewrite(built, tmp_path / "a.tgz", lambda n, d: d, extra=("payload/vigil/evil.py", b"1+1\n"))
    err = refusal(added, tmp_path / "u2", trusted(key))
    assert err.code == package.INVALID and "evil.py" in err.message


def test_signatures_missing_unknown_or_wrong_are_refused(tmp_path: Path, built: Path, key) -> None:
    unsigned = rewrite(built, tmp_path / "u.tgz", lambda n, d: None if n == package.SIGNATURE else d)
    assert refusal(unsigned, tmp_path / "x1", trusted(key)).code == package.SIGNATURE_MISSING
    assert refusal(built, tmp_path / "x2", trusted(release_key("other"))).code == package.UNKNOWN_CERTIFICATE
    assert refusal(built, tmp_path / "x3", []).code == package.UNKNOWN_CERTIFICATE
    bad = base64.b64encode(bytes(64)) + b"\n"
    forged = rewrite(built, tmp_path / "f.tgz", lambda n, d: bad if n == package.SIGNATURE else d)
    err = refusal(forged, tmp_path / "x4", trusted(key))
    assert err.code == package.INVALID and "signature" in err.message


def test_a_manifest_changed_after_signing_is_refused(tmp_path: Path, built: Path, key) -> None:
    def widen(name: str, data: bytes) -> bytes:
        if name != package.MANIFEST:
            return data
        body = json.loads(data)
        body["profiles"].append("c1410")
        return json.dumps(body).encode()

    err = refusal(rewrite(built, tmp_path / "w.tgz", widen), tmp_path / "x", trusted(key))
    assert err.code == package.INVALID and "signature" in err.message


@pytest.mark.parametrize(("body", "why"), [
    (b"not json", "not JSON"),
    (b'{"schema": "other/1"}', "schema"),
    (json.dumps({"schema": package.SCHEMA, "version": "two", "profiles": ["s3016"], "files": {}}).encode(), "version"),
    (json.dumps({"schema": package.SCHEMA, "version": "1.0", "profiles": [], "files": {"a": "0" * 64}}).encode(),
     "profiles"),
    (json.dumps({"schema": package.SCHEMA, "version": "1.0", "profiles": ["s3016"], "files": {"a": "xyz"}}).encode(),
     "SHA-256"),
])
def test_manifests_of_the_wrong_schema_are_refused(body: bytes, why: str) -> None:
    with pytest.raises(PackageError, match=why) as caught:
        Manifest.parse(body)
    assert caught.value.code == package.INVALID
