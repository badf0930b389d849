from WebSocketLibrary.transcript import RECEIVED, SENT, Transcript, preview, render_html


def test_preview_shortens_text_and_shows_binary_as_hex():
    assert preview("x" * 500, 10) == "xxxxxxxxxx… (500 chars)"
    assert preview(b"\x00\xff") == "0x00ff"
    assert preview(b"\x01" * 300, 4).endswith("… (300 bytes)")
    assert preview("") == "(empty)"


def test_drain_returns_each_event_once():
    transcript = Transcript("alice")
    transcript.record(SENT, "text", "hello")
    events, dropped = transcript.drain()
    assert [(e.direction, e.kind, e.size, e.content) for e in events] == [
        (SENT, "text", 5, "hello")
    ]
    assert dropped == 0
    assert transcript.drain() == ([], 0)


def test_size_is_in_bytes():
    transcript = Transcript("alice")
    transcript.record(SENT, "text", "é✓")
    events, _ = transcript.drain()
    assert events[0].size == 5


def test_shortening_never_cuts_a_token_in_half():
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    text = "x" * 30 + token + "y" * 100
    shortened = preview(text, 40)
    assert shortened.startswith("x" * 30 + "…")
    assert "eyJ" not in shortened


def test_buffer_is_bounded_and_counts_what_it_dropped():
    transcript = Transcript("alice", max_events=3)
    for n in range(5):
        transcript.record(RECEIVED, "text", str(n))
    events, dropped = transcript.drain()
    assert [e.content for e in events] == ["2", "3", "4"]
    assert dropped == 2


def test_html_escapes_content_and_applies_the_mask():
    transcript = Transcript("<bob>")
    transcript.record(RECEIVED, "text", "<script>secret</script>")
    events, _ = transcript.drain()
    rendered = render_html(events, lambda text: text.replace("secret", "***"))
    assert "&lt;script&gt;***&lt;/script&gt;" in rendered
    assert "&lt;bob&gt;" in rendered
    assert "secret" not in rendered
