"""serverreport.cgi's refusals (the report itself: tests/core/test_logs.py)."""

from __future__ import annotations


async def test_an_unknown_mode_is_echoed_without_markup(admin):
    r = await admin.get("/axis-cgi/serverreport.cgi", params={"mode": "<script>alert(1)</script>"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "use text, zip, zip_with_image or tar_all" in r.text
