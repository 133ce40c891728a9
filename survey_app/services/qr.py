"""QR codes for desk posters and receipts, as SVG or PNG bytes."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def _code(data: str, box_size: int = 10) -> qrcode.QRCode:
    # Level M survives a crease or a smudge on a printed poster without making the code dense.
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=box_size)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_svg(data: str) -> bytes:
    """A scalable QR image (one path; prints sharp at any size)."""
    image = _code(data).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def qr_png(data: str, box_size: int = 10) -> bytes:
    """A PNG QR image, ``box_size`` pixels per module."""
    image = _code(data, box_size).make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
