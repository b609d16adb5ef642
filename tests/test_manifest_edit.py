"""Adding a service to dockerforge.yaml changes nothing but the inserted lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockerforge.errors import UserError
from dockerforge.manifest_edit import ServiceEntry, _verify, add_service
from dockerforge.yamlfile import load_yaml
from tests.conftest import EXAMPLE

MANIFEST = EXAMPLE / "dockerforge.yaml"


def removed(text: str, entry: str) -> str:
    """``text`` without the one occurrence of ``entry``, which must start a line."""
    assert text.count(entry) == 1
    at = text.index(entry)
    assert at == 0 or text[at - 1] == "\n"
    return text[:at] + text[at + len(entry) :]


def test_http_service_goes_after_the_last_http_service_before_the_workers_comment() -> None:
    old = MANIFEST.read_text()
    edit = add_service(
        MANIFEST, old, ServiceEntry("billing-service", "http", port=3012), after="course-service"
    )
    assert edit.entry == "  billing-service:\n    port: 3012\n"
    # Checked by hand against the example: right after course-service's port line, before the
    # blank line and the "# Workers" comment that introduce the next group.
    assert (
        "  course-service:\n    port: 3011\n  billing-service:\n    port: 3012\n\n  # Workers"
        in (edit.text)
    )
    assert removed(edit.text, edit.entry) == old
    assert edit.text.splitlines()[edit.line - 1] == "  billing-service:"


def test_worker_with_every_field_is_appended_in_the_example_style() -> None:
    old = MANIFEST.read_text()
    entry = ServiceEntry(
        "report-worker", "worker", deps=("admin-service", "chat-service"), env=("JWT_SECRET",)
    )
    edit = add_service(MANIFEST, old, entry)
    assert edit.entry == (
        "  report-worker:\n"
        "    kind: worker\n"
        "    deps: [admin-service, chat-service]\n"
        "    env: [JWT_SECRET]\n"
    )
    assert edit.text == old + edit.entry  # the last service ends the file


def test_http_fields_in_order_and_default_health_left_out() -> None:
    entry = ServiceEntry("x", "http", port=1, health="/ready?full=1", env=("A", "B"))
    assert list(entry.fields()) == ["port", "health", "env"]
    assert ServiceEntry("x", "http", port=1).fields() == {"port": 1}


STYLES = {
    "four spaces, block lists, document markers, comments": (
        "---\n"
        "# top comment\n"
        "services:\n"
        "    api:\n"
        "        port: 1\n"
        "        env:\n"
        "            - A   # keep me\n"
        "        # a note about api, indented like its keys\n"
        "    # a note about what follows\n"
        "\n"
        "# closing remark\n"
        "...\n",
        "        # a note about api, indented like its keys\n",
        "    web:\n        port: 2\n",
    ),
    "quotes and flow mappings kept, key after services": (
        "services:\n"
        "  'api': {port: 1, health: \"/h\"}\n"
        "  jobs:\n"
        "    kind: 'worker'\n"
        "image:   # the image\n"
        '  node: "node:18-alpine"\n',
        "    kind: 'worker'\n",
        "  web:\n    port: 2\n",
    ),
    "CRLF line endings": (
        "services:\r\n  api:\r\n    port: 1\r\n",
        "    port: 1\r\n",
        "  web:\r\n    port: 2\r\n",
    ),
}


@pytest.mark.parametrize("name", list(STYLES))
def test_any_style_is_kept_byte_for_byte(name: str) -> None:
    old, before, expected_entry = STYLES[name]
    edit = add_service(MANIFEST, old, ServiceEntry("web", "http", port=2))
    assert edit.entry == expected_entry
    assert removed(edit.text, edit.entry) == old
    assert before + edit.entry in edit.text  # right after the last service's own lines
    services = load_yaml(MANIFEST, edit.text)["services"]
    assert list(services)[-1] == "web"
    assert services["web"] == {"port": 2}


def test_a_file_without_a_final_newline_gets_one_before_the_entry() -> None:
    old = "services:\n  api:\n    port: 1"
    edit = add_service(MANIFEST, old, ServiceEntry("web", "http", port=2))
    assert edit.text == old + "\n" + edit.entry


@pytest.mark.parametrize("name", ["true", "null", "123", "1.5", "0x1f", "yes"])
def test_names_yaml_would_read_as_something_else_are_quoted(name: str) -> None:
    old = "services:\n  api:\n    port: 1\n"
    edit = add_service(MANIFEST, old, ServiceEntry(name, "worker"))
    services = load_yaml(MANIFEST, edit.text)["services"]
    assert list(services) == ["api", name]


def test_flow_style_services_are_refused_with_their_line() -> None:
    old = "# services in one line\nservices: {api: {port: 1}}\n"
    with pytest.raises(UserError) as info:
        add_service(MANIFEST, old, ServiceEntry("web", "http", port=2))
    assert "flow style" in info.value.message
    assert info.value.location is not None and info.value.location.line == 2


def test_an_existing_name_is_refused() -> None:
    with pytest.raises(UserError, match="already declared"):
        add_service(MANIFEST, MANIFEST.read_text(), ServiceEntry("chat-service", "worker"))


def test_the_verification_catches_a_splice_that_changed_something_else() -> None:
    old_text = "services:\n  api:\n    port: 1\n"
    old = load_yaml(MANIFEST, old_text)
    entry = ServiceEntry("web", "http", port=2)
    good = old_text + "  web:\n    port: 2\n"
    _verify(Path(MANIFEST), old, good, entry, "api")
    for bad in (
        "services:\n  api:\n    port: 9\n  web:\n    port: 2\n",  # another value changed
        "services:\n  web:\n    port: 2\n  api:\n    port: 1\n",  # wrong place
        old_text + "  web:\n    port: 3\n",  # not the entry asked for
    ):
        with pytest.raises(UserError, match="add this entry under services: by hand"):
            _verify(Path(MANIFEST), old, bad, entry, "api")
