"""libdoc renders the library, and every keyword explains itself with an example."""

from robot.libdoc import LibraryDocumentation

DOC = LibraryDocumentation("WebSocketLibrary")


def test_every_keyword_has_documentation_and_tags():
    for kw in DOC.keywords:
        assert len(kw.doc.splitlines()[0]) > 20, f"'{kw.name}' needs a real first line"
        assert kw.tags, f"'{kw.name}' has no area tags"


def test_keywords_with_arguments_show_an_example_or_point_to_one():
    for kw in DOC.keywords:
        if kw.args.argument_names:
            assert "|" in kw.doc or "Like `" in kw.doc or "as in `" in kw.doc, (
                f"'{kw.name}' has no example table"
            )


def test_every_argument_is_typed():
    for kw in DOC.keywords:
        for arg in kw.args:
            assert arg.type is not None, f"'{kw.name}' argument '{arg.name}' has no type"


def test_html_output(tmp_path):
    DOC.save(str(tmp_path / "WebSocketLibrary.html"), "HTML")
    assert "Wait For Message" in (tmp_path / "WebSocketLibrary.html").read_text()
