"""EPUB books through the registry: spine order, non-linear items, images, Dublin Core, DRM, bombs, escapes.

Books are built here, as OCF says (``mimetype`` first and stored, ``META-INF/container.xml``, an OPF), plus a
real one: Standard Ebooks' *The Devil's Dictionary* (public domain), from ``tests/fixtures/devils-dictionary``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image

from pin_assets.core.convert import parse_document
from pin_assets.core.document import ConversionError
from pin_assets.core.limits import DocumentLimits
from pin_assets.core.sources.detect import detect_kind

FIXTURE = Path(__file__).parent / "fixtures" / "devils-dictionary" / "epub"
CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="{opf}" media-type="application/oebps-package+xml"/></rootfiles></container>"""
OPF_NS = "http://www.idpf.org/2007/opf"
ADEPT_AES = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
FONT_OBFUSCATION = "http://www.idpf.org/2008/embedding"


def png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (160, 120), color).save(out, "PNG")
    return out.getvalue()


def chapter(body: str, title: str = "") -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" '
            f'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>{title}</title>'
            f'<style>p {{ color: red }}</style></head><body>{body}</body></html>')


def build_epub(files: dict[str, bytes | str], opf_path: str = "OEBPS/content.opf") -> bytes:
    """An EPUB: ``mimetype`` first and stored, the container naming ``opf_path``, then ``files`` in order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", CONTAINER.format(opf=opf_path))
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def package(items: list[tuple[str, str, str]], spine: list[str], nonlinear: tuple[str, ...] = ()) -> str:
    manifest = "".join(f'<item id="{i}" href="{href}" media-type="{mt}"/>' for i, href, mt in items)
    linear = {i: ' linear="no"' if i in nonlinear else "" for i in spine}
    refs = "".join(f'<itemref idref="{i}"{linear[i]}/>' for i in spine)
    return (f'<?xml version="1.0" encoding="utf-8"?><package xmlns="{OPF_NS}" version="3.0" unique-identifier="id">'
            '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:uuid:1</dc:identifier>'
            "<dc:title>The Two Chapters</dc:title><dc:creator>Ann Author</dc:creator>"
            "<dc:creator>Bo Second</dc:creator><dc:language>en</dc:language></metadata>"
            f"<manifest>{manifest}</manifest><spine>{refs}</spine></package>")


def two_chapter_book(extra: dict[str, bytes | str] | None = None) -> bytes:
    """Chapter 2 before chapter 1 in the manifest (the spine decides), a non-linear note between them, a
    figure one folder up from the chapters, a cover wrapped in SVG, and an image that is not there."""
    items = [("c2", "text/two%20b.xhtml", "application/xhtml+xml"), ("c1", "text/one.xhtml", "application/xhtml+xml"),
             ("note", "text/note.xhtml", "application/xhtml+xml"), ("fig", "images/fig.png", "image/png"),
             ("cover", "images/cover.png", "image/png"), ("css", "style.css", "text/css")]
    files: dict[str, bytes | str] = {
        "OEBPS/content.opf": package(items, ["c1", "note", "c2"], nonlinear=("note",)),
        "OEBPS/text/one.xhtml": chapter(
            '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
            '<image xlink:href="../images/cover.png"/></svg><h1>Chapter One</h1>'
            "<p>It was a bright cold day in April.</p>"
            '<figure><img src="../images/fig.png" alt="a red square"/><figcaption>Figure 1.</figcaption></figure>'
            '<p class="menu">Kept: a book has no boilerplate.</p><p hidden="">HIDDEN-TEXT</p>', "One"),
        "OEBPS/text/two b.xhtml": chapter(
            '<h1>Chapter Two</h1><p>The clocks were striking thirteen.</p><img src="../images/gone.png" alt=""/>'),
        "OEBPS/text/note.xhtml": chapter("<p>NONLINEAR-NOTE</p>"),
        "OEBPS/images/fig.png": png((200, 20, 20)),
        "OEBPS/images/cover.png": png((20, 20, 200)),
        "OEBPS/style.css": "p { margin: 0 }",
    }
    files.update(extra or {})
    return build_epub(files)


def convert(data: bytes):
    return parse_document(data, detect_kind(data, "book.epub"), DocumentLimits())


def test_epub_chapters_in_spine_order_with_images_and_dublin_core():
    data = two_chapter_book()
    assert detect_kind(data, "anything.zip") == "epub"  # by content, whatever the name
    parsed = convert(data)
    md = parsed.markdown
    assert md.index("# Chapter One") < md.index("bright cold day") < md.index("# Chapter Two") < md.index("thirteen")
    assert "NONLINEAR-NOTE" not in md and "HIDDEN-TEXT" not in md and "color: red" not in md
    assert "Kept: a book has no boilerplate." in md  # no main-content detection in a book
    figure, cover = parsed.images[1], parsed.images[0]
    assert md.index(f"content_image/{cover.name}") < md.index("# Chapter One")
    assert md.index("bright cold day") < md.index(f"content_image/{figure.name}") < md.index("Figure 1.")
    assert (figure.width, figure.height) == (160, 120)
    meta = parsed.metadata
    assert (parsed.title, parsed.language) == ("The Two Chapters", "en")
    assert meta["author"] == "Ann Author; Bo Second" and meta["chapters"] == "2"
    assert meta["nonlinear_skipped"] == '["OEBPS/text/note.xhtml"]'
    assert meta["missing_images"] == '["../images/gone.png"]'
    assert parsed.page_count >= 1  # compiled pages, not pages of its own


@pytest.mark.parametrize(
    ("extra", "reason", "says"),
    [
        # DRM (Adobe ADEPT encrypts chapters with AES) refuses the book
        ({"META-INF/encryption.xml": f'<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
          f'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod '
          f'Algorithm="{ADEPT_AES}"/><enc:CipherData><enc:CipherReference URI="OEBPS/text/one.xhtml"/>'
          "</enc:CipherData></enc:EncryptedData></encryption>"}, "encrypted", "1 of the EPUB's 2 chapters"),
        # a member named outside the book (zip slip)
        ({"../../evil.xhtml": "x"}, "unsafe", "outside the archive"),
        # a 4 MiB chapter of zeros compressed some 1,000 times
        ({"OEBPS/text/one.xhtml": b"\0" * (4 * 2**20)}, "unsafe", "compression bomb"),
    ],
    ids=["drm", "path-escape", "zip-bomb"],
)
def test_epub_refusals(extra, reason, says):
    with pytest.raises(ConversionError) as caught:
        convert(two_chapter_book(extra))
    assert caught.value.reason == reason and says in str(caught.value)


def test_epub_font_obfuscation_is_not_drm_and_manifest_escape_is_refused():
    fonts = (f'<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
             f'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod '
             f'Algorithm="{FONT_OBFUSCATION}"/><enc:CipherData><enc:CipherReference URI="OEBPS/font.otf"/>'
             "</enc:CipherData></enc:EncryptedData></encryption>")
    assert "Chapter Two" in convert(two_chapter_book({"META-INF/encryption.xml": fonts})).markdown
    escaping = package([("c1", "../../../etc/passwd", "application/xhtml+xml")], ["c1"])
    with pytest.raises(ConversionError, match="leaves the book") as caught:
        convert(two_chapter_book({"OEBPS/content.opf": escaping}))
    assert caught.value.reason == "unsafe"


def devils_dictionary() -> bytes:
    """The real package and chapters, with manifest and spine trimmed to the chapters carried."""
    opf = etree.fromstring((FIXTURE / "content.opf").read_bytes())
    carried = {f"text/{p.name}" for p in (FIXTURE / "text").iterdir()}
    manifest, spine = opf.find(f"{{{OPF_NS}}}manifest"), opf.find(f"{{{OPF_NS}}}spine")
    kept = set()
    for item in list(manifest):
        if item.get("media-type") == "application/xhtml+xml" and item.get("href") not in carried:
            manifest.remove(item)
        else:
            kept.add(item.get("id"))
    for itemref in list(spine):
        if itemref.get("idref") not in kept:
            spine.remove(itemref)
    files: dict[str, bytes | str] = {"epub/content.opf": etree.tostring(opf, xml_declaration=True, encoding="utf-8")}
    files.update({f"epub/{name}": (FIXTURE / name).read_bytes() for name in sorted(carried)})
    return build_epub(files, opf_path="epub/content.opf")


def test_real_public_domain_epub():
    parsed = convert(devils_dictionary())
    md = parsed.markdown
    assert (parsed.title, parsed.language, parsed.metadata["author"]) == (
        "The Devil\u2019s Dictionary", "en-US", "Ambrose Bierce")
    assert "Dictionaries -- Humor" in parsed.metadata["subject"]
    # spine order: title page, preface, X, Z; each chapter's heading, text, definitions and poems
    order = ["# The Devil\u2019s Dictionary", "## Author\u2019s Preface", "Father Gassalasca Jape", "A. B.",
             "## X", "sacred symbol of ten dollars", "## Z", "Zany", "When Zeal sought Gratitude", "Zoology",
             "domestic cow sheds its horn"]
    positions = [md.find(text) for text in order]
    assert -1 not in positions and positions == sorted(positions), positions
    assert "../images/titlepage.svg" in parsed.metadata["missing_images"]  # SVG is not a raster image
    assert parsed.metadata["chapters"] == "4"
