import json

import pytest

from media_server import ProtocolError
from media_server.protocol import parse, publish_list, stroke


@pytest.mark.parametrize(("raw", "code"), [
    ("{not json", "bad_json"),
    ("[1, 2]", "bad_message"),
    ('{"type": 5}', "bad_message"),
    ('{"type": "dance"}', "unknown_type"),
    (json.dumps({"type": "chat", "text": "x" * 200}), "too_large"),
])
def test_bad_messages_name_what_is_wrong(raw: str, code: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse(raw, 100)
    assert info.value.code == code


def test_publish_list_accepts_names_and_objects() -> None:
    assert publish_list({"publish": ["camera", {"source": "screen", "codec": "H264"}]}) == [
        ("camera", None), ("screen", "H264")]
    for bad in (["camera", "camera"], ["tv"], "camera", [{"codec": "VP8"}]):
        with pytest.raises(ProtocolError):
            publish_list({"publish": bad})


def test_strokes_are_capped() -> None:
    assert stroke({"stroke": {"points": [1, 2]}}) == {"stroke": {"points": [1, 2]}}
    assert stroke({"clear": True}) == {"clear": True}
    with pytest.raises(ProtocolError):
        stroke({"stroke": {"points": list(range(10000))}})
