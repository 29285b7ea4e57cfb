"""The driver's own checks, on local pages (no hub): if these fail, the
console tests' verdicts mean nothing."""

from __future__ import annotations

import pathlib

import pytest

import pngcheck
from cdp import CdpError

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"


def test_click_type_and_screenshot(browser, tmp_path):
    browser.navigate((FIXTURES / "selftest.html").as_uri())
    browser.type("#field", "héllo <b>")
    browser.click("#go")
    out = browser.wait_for("document.body.dataset.ready === '1' && document.getElementById('out').textContent")
    # isTrusted: the click came from Input.dispatchMouseEvent, as a user's.
    assert out == "clicked:héllo <b>:true"
    png = browser.screenshot(tmp_path / "selftest.png")
    pngcheck.assert_not_blank(png, "the self-test page")
    browser.assert_clean()


def test_blank_page_is_detected(browser, tmp_path):
    browser.navigate("about:blank")
    png = browser.screenshot(tmp_path / "blank.png")
    with pytest.raises(pngcheck.PngError):
        pngcheck.assert_not_blank(png, "about:blank")


def test_failures_are_caught(browser):
    browser.navigate((FIXTURES / "selftest.html").as_uri())
    with pytest.raises(CdpError, match="timed out"):
        browser.wait_for("false", timeout=0.3, message="something that never happens")
    with pytest.raises(CdpError, match="threw"):
        browser.evaluate("null.x")
    browser.evaluate("setTimeout(() => { throw new Error('boom') }, 0); alert('trap me'); 1")
    browser.wait_for("window.__outpostDialogs.length === 1")
    browser.pump(0.2)
    with pytest.raises(CdpError) as e:
        browser.assert_clean()
    assert "boom" in str(e.value) and "alert(trap me)" in str(e.value)


def test_csp_violations_are_caught(browser):
    # csp.html has a CSP meta tag like the console's header, and breaks it
    # with an inline script and an inline style attribute.
    browser.navigate((FIXTURES / "csp.html").as_uri())
    browser.wait_for("document.readyState === 'complete'")
    browser.pump(0.3)
    violations = browser.csp_violations()
    assert violations, "the CSP violations of csp.html were not reported"
    assert browser.evaluate("window.inlineRan === undefined"), "the inline script ran despite the CSP"
