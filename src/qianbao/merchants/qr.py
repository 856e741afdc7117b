"""The pictures a till or a phone scans: QR codes (segno) and the payment code's Code 128
barcode (python-barcode), as SVG for pages and PNG for printing. What they carry:

- a shop's static QR: ``<site>/pay/m/<shop code>`` (the customer types the amount);
- a dynamic QR for one order: ``<site>/pay/checkout/<session id>``;
- a customer's payment code: its 18 digits, nothing else.

These are the one place an absolute address is right: a phone's camera app opens them."""

from __future__ import annotations

import io

import barcode
import segno
from barcode.writer import ImageWriter, SVGWriter


def shop_url(site: str, code: str) -> str:
    return f"{site.rstrip('/')}/pay/m/{code}"


def checkout_url(site: str, session_id: object) -> str:
    return f"{site.rstrip('/')}/pay/checkout/{session_id}"


def qr_svg(data: str, *, scale: int = 6) -> str:
    out = io.BytesIO()
    segno.make(data, error="m", micro=False).save(
        out, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True, title="QR"
    )
    return out.getvalue().decode()


def qr_png(data: str, *, scale: int = 10) -> bytes:
    out = io.BytesIO()
    segno.make(data, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def barcode_svg(digits: str) -> str:
    out = io.BytesIO()
    barcode.get("code128", digits, writer=SVGWriter()).write(
        out, options={"write_text": False, "module_height": 18.0, "quiet_zone": 4.0}
    )
    text = out.getvalue().decode()
    return text[text.index("<svg") :]  # no XML declaration: it is inlined in a page


def barcode_png(digits: str) -> bytes:
    out = io.BytesIO()
    barcode.get("code128", digits, writer=ImageWriter()).write(
        out, options={"write_text": False, "module_height": 18.0, "quiet_zone": 4.0}
    )
    return out.getvalue()
