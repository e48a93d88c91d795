"""Recipient settings: validation, normalisation and defaults."""

from __future__ import annotations

import pytest

from vigil.features.notify import validate as r
from vigil.features.notify.model import KINDS, RecipientError
from vigil.features.notify.validate import validate

MD5 = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
SHA = "uGuGmpJ8bAbzaPJp8rKStd0tMyigErsgIuOLQoqLvAk"


def test_kinds() -> None:
    assert KINDS == ("http", "https", "email", "ftp", "sftp", "tcp", "networkshare", "sip")
    with pytest.raises(RecipientError, match="not a recipient type"):
        validate("smoke-signal", {})


def test_defaults_per_kind() -> None:
    assert validate("ftp", {"host": "Files.Example.com"}) == {
        "host": "files.example.com", "port": "21", "folder": "", "username": "anonymous", "password": "",
        "passive": "yes", "temporary_name": "yes"}
    s = validate("sftp", {"host": "10.0.0.5", "username": "u", "fingerprint": MD5, "folder": "up/"})
    assert s["port"] == "22" and s["folder"] == "up" and s["temporary_name"] == "yes"
    assert validate("email", {"host": "smtp.example.com", "from": "cam@example.com", "to": "a@example.com"}) == {
        "host": "smtp.example.com", "port": "587", "encryption": "starttls", "validate_cert": "yes",
        "username": "", "password": "", "from": "cam@example.com", "to": "a@example.com"}
    assert validate("email", {"host": "h", "from": "a@b.c", "to": "d@e.f", "encryption": "SSL"})["port"] == "465"
    assert validate("email", {"host": "h", "from": "a@b.c", "to": "d@e.f", "encryption": "tls"})["encryption"] \
        == "starttls"
    h = validate("https", {"url": "https://192.168.0.10/cgi-bin/notify.cgi", "validate_cert": "false"})
    assert h["validate_cert"] == "no" and h["auth"] == "auto"
    assert "validate_cert" not in validate("http", {"url": "http://h/x"})
    assert validate("tcp", {"host": "::1", "port": " 8000 "}) == {"host": "::1", "port": "8000"}
    assert validate("networkshare", {"address": "NAS.example.com:1445", "share": "video", "folder": "./cams//a/"}) == {
        "address": "nas.example.com:1445", "share": "video", "username": "", "password": "", "version": "auto",
        "folder": "cams/a"}


@pytest.mark.parametrize("host", ["", "bad host", "exa_mple.com", "-a.com", "a..b", "x" * 64 + ".com", "1.2.3.999",
                                  "host:21", "ftp://host"])
def test_bad_hosts(host: str) -> None:
    with pytest.raises(RecipientError, match="^host: "):
        validate("ftp", {"host": host})


@pytest.mark.parametrize("port", ["0", "65536", "-1", "ftp", "21.5", "1_0", "\u0663", "\u00b2", "9" * 5000])
def test_bad_ports(port: str) -> None:
    with pytest.raises(RecipientError, match="^port: ") as refused:
        validate("tcp", {"host": "127.0.0.1", "port": port})
    assert len(str(refused.value)) < 200  # a huge value is not echoed back


def test_required_and_unknown_fields() -> None:
    with pytest.raises(RecipientError, match="^port: this field is required"):
        validate("tcp", {"host": "h"})
    with pytest.raises(RecipientError, match="^URL: this field is required"):
        validate("http", {})
    with pytest.raises(RecipientError, match="^hots: unknown setting"):
        validate("tcp", {"hots": "h", "port": "1"})
    with pytest.raises(RecipientError, match="control characters"):
        validate("ftp", {"host": "h", "folder": "a\r\nDELE x"})
    with pytest.raises(RecipientError, match="^passive: 'maybe' is not yes or no"):
        validate("ftp", {"host": "h", "passive": "maybe"})


@pytest.mark.parametrize("to", ["", "nobody", "a@", "@b.com", "a b@c.com", "a@b_c.com", "a@b.com, x", "a..b@c.com"])
def test_bad_emails(to: str) -> None:
    with pytest.raises(RecipientError, match=r"^recipient addresses \(to\): "):
        validate("email", {"host": "h", "from": "cam@example.com", "to": to})


def test_good_emails() -> None:
    s = validate("email", {"host": "h", "from": "Camera 1 <cam@Example.com>",
                           "to": "ops@example.com,  Night Shift <night@example.org> ,"})
    assert s["from"] == "Camera 1 <cam@example.com>"
    assert s["to"] == "ops@example.com, Night Shift <night@example.org>"
    with pytest.raises(RecipientError, match=r"^sender address \(from\): "):
        validate("email", {"host": "h", "from": "camera", "to": "a@b.c"})


def test_fingerprints() -> None:
    colons = ":".join(MD5[i:i + 2] for i in range(0, 32, 2))
    norm = "MD5:" + colons
    for value in (MD5, MD5.upper(), colons, "MD5:" + colons, "md5:" + MD5):
        assert r.normalize_fingerprint(value) == norm
    for value in (SHA, SHA + "=", "SHA256:" + SHA):
        assert r.normalize_fingerprint(value) == "SHA256:" + SHA
    for bad in (MD5[:-1], MD5 + "0", "zz" + MD5[2:], colons[:-3], SHA[:-1], SHA + "A", "SHA256:" + MD5,
                "MD5:" + SHA, "", "SHA256:" + SHA[:-1] + "!"):
        with pytest.raises(RecipientError, match="^SSH host key fingerprint: "):
            validate("sftp", {"host": "h", "username": "u", "fingerprint": bad})


def test_urls() -> None:
    with pytest.raises(RecipientError, match="needs a URL starting with https://"):
        validate("https", {"url": "http://h/x"})
    with pytest.raises(RecipientError, match="needs a URL starting with http://"):
        validate("http", {"url": "ftp://h/x"})
    with pytest.raises(RecipientError, match="own fields"):
        validate("http", {"url": "http://u:p@h/x"})
    with pytest.raises(RecipientError, match="^URL: "):
        validate("http", {"url": "http://bad_host/x"})
    with pytest.raises(RecipientError, match="^auth: "):
        validate("http", {"url": "http://h/x", "auth": "ntlm"})
    assert validate("http", {"url": "http://h/x", "proxy": "proxy.lan:8080"})["proxy"] == "http://proxy.lan:8080"
    assert validate("http", {"url": "http://h/x", "proxy": "10.0.0.1"})["proxy"] == "http://10.0.0.1:3128"
    with pytest.raises(RecipientError, match="^proxy: "):
        validate("http", {"url": "http://h/x", "proxy": "socks5://p:1080"})


@pytest.mark.parametrize("folder", ["a/../../etc", "..", "a\\..\\..\\etc", "/etc/cron.d", "\\etc", "/tmp/outside"])
def test_networkshare_folders_stay_inside_the_share(folder: str) -> None:
    with pytest.raises(RecipientError, match=r"^folder: .*(absolute path|'\.\.' is not allowed)"):
        validate("networkshare", {"address": "nas", "share": "video", "folder": folder})


def test_networkshare_settings() -> None:
    with pytest.raises(RecipientError, match="^address: this field is required"):
        validate("networkshare", {"share": "video"})
    with pytest.raises(RecipientError, match="^share: "):
        validate("networkshare", {"address": "nas", "share": "video/../x"})
    with pytest.raises(RecipientError, match="^folder: the characters"):
        validate("networkshare", {"address": "nas", "share": "video", "folder": "a:b"})
    with pytest.raises(RecipientError, match="^version: "):
        validate("networkshare", {"address": "nas", "share": "video", "version": "1.0"})
    with pytest.raises(RecipientError, match="^path: unknown setting"):  # a local path is no setting at all
        validate("networkshare", {"address": "nas", "share": "video", "path": "/tmp/outside"})
