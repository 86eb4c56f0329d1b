"""What every PDF the service writes shares: Noto Sans SC (SIL Open Font License) from the
npm package ``@expo-google-fonts/noto-sans-sc``, a TrueType-outline font, so reportlab
embeds the subset of it a document uses and the file reads the same on a machine with no
CJK font at all; and a canvas that writes 第 N 页 共 M 页 at the foot of every page.
Notices (``audit.notices.render``) and case files (``audit.cases.casefile``) use both."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from audit.errors import ServiceError

FONT_PACKAGE = "@expo-google-fonts/noto-sans-sc"
FONT_FILES = {"regular": "400Regular/NotoSansSC_400Regular.ttf", "bold": "700Bold/NotoSansSC_700Bold.ttf"}
FONT_NAMES = {"regular": "NotoSansSC", "bold": "NotoSansSC-Bold"}


def font_path(style: str = "regular") -> Path:
    """The font's file, from the installed npm package (``scripts/frontend``)."""
    from audit.web.assets import node_modules

    modules = node_modules()
    path = modules / FONT_PACKAGE / FONT_FILES[style] if modules else None
    if path is None or not path.is_file():
        raise ServiceError(503, "error.notice_pdf_font", package=FONT_PACKAGE)
    return path


@lru_cache(maxsize=1)
def register_fonts() -> tuple[str, str]:
    """Registers the regular and bold faces with reportlab once; returns their names."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    # TrueType outlines: reportlab embeds a subset of the glyphs used (never the whole 10 MB).
    for style, name in FONT_NAMES.items():
        pdfmetrics.registerFont(TTFont(name, str(font_path(style))))
    return FONT_NAMES["regular"], FONT_NAMES["bold"]


def numbered_canvas(font: str, width: float, bottom: float, page_text: Callable[[int, int], str]) -> type:
    """A reportlab canvas class that writes ``page_text(page, pages)`` centred at ``bottom``
    on every page: the count is known only once every page is laid out."""
    from reportlab.pdfgen.canvas import Canvas

    class Numbered(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            count = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont(font, 9)
                self.drawCentredString(width / 2, bottom, page_text(self._pageNumber, count))
                super().showPage()
            super().save()

    return Numbered
