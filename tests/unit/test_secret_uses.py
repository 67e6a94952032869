"""Which credentials a valid definition reads, and where: names from the parsed
expressions, every templated param at any depth, foreach bodies included."""

from typing import Any

from services.automations.validation import problems_of, secret_uses


def test_every_use_is_found_with_its_pointer_in_document_order() -> None:
    post: dict[str, Any] = {
        "type": "http_request",
        "params": {
            "method": "POST",
            "url": "https://x.example.com/{{ secrets['path_key'] }}",
            "body": {"items": ["plain", "{{ secrets.a ~ secrets.a ~ secrets.b }}"]},
            "headers": {"X-Note": "no expression mentions secrets.fake"},
        },
    }
    definition: dict[str, Any] = {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "start": "first",
        "steps": {
            "first": {**post, "next": "loop"},
            "loop": {
                "type": "foreach",
                "params": {"items": "trigger.rows"},
                "body": {"start": "inner", "steps": {"inner": post}},
            },
        },
    }
    assert problems_of(definition) == []
    once = [
        ("/params/url", "path_key"),
        ("/params/body/items/1", "a"),
        ("/params/body/items/1", "b"),
    ]
    assert secret_uses(definition) == [
        *((f"/steps/first{where}", name) for where, name in once),
        *((f"/steps/loop/body/steps/inner{where}", name) for where, name in once),
    ]
