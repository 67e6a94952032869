"""pure.expressions: syntax checks for both kinds of text, native values versus text,
conditions, render_params, undefined names, caching and the step output cap."""

from typing import Any

import pytest

from pure import expressions
from pure.expressions import (
    MAX_OUTPUT_BYTES,
    ExpressionError,
    check_output_size,
    evaluate,
    render,
    render_params,
    step_names_in_params,
    syntax_error,
)

CONTEXT: dict[str, Any] = {
    "trigger": {"amount": 1250, "client": {"name": "Acme", "tags": ["vip", "eu"]}, "items": 3},
    "steps": {"fetch": {"output": {"status": 200, "body": {"ok": True}}}},
    "vars": {"threshold": 1000, "note": None},
    "run": {"id": "run-1", "version": 2, "started_at": "2026-11-22T12:00:00+00:00"},
    "firm": {"id": "firm-1", "time_zone": "Europe/Paris"},
    "secrets": {"crm_api_key": "sk_live_123"},
}


@pytest.mark.parametrize(
    "text",
    [
        "plain text",
        "",
        "{{ trigger.amount }}",
        "Dear {{ trigger.client.name }}, you owe {{ trigger.amount / 100 }}",
        "{{ trigger.client.tags | join(', ') }}",
        "{# a comment #}text",
        "{{ 'a' if vars.note is none else 'b' }}",
    ],
)
def test_valid_templates_have_no_syntax_error(text: str) -> None:
    assert syntax_error(text) is None
    assert syntax_error(text, kind="template") is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{{ trigger.amount ", "expected 'end of print statement'"),
        ("{{ trigger.amount + }}", "invalid expression"),
        ("{{ trigger | no_such_filter }}", "No filter named 'no_such_filter'"),
        ("{{ x | attr('y') }}", "No filter named 'attr'"),
        ("{{ x | random }}", "No filter named 'random'"),
        ("{% if trigger %}yes{% endif %}", "not {% … %} statements"),
        ("{% for i in range(3) %}{{ i }}{% endfor %}", "not {% … %} statements"),
        ("{% set x = 1 %}", "not {% … %} statements"),
        ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "invalid expression"),
    ],
)
def test_template_syntax_errors_say_what_is_wrong(text: str, fragment: str) -> None:
    message = syntax_error(text)
    assert message is not None
    assert fragment in message
    assert "\n" not in message
    with pytest.raises(ExpressionError) as caught:
        render(text, CONTEXT)
    assert caught.value.message == message


@pytest.mark.parametrize(
    "text",
    ["trigger.amount > vars.threshold", "'vip' in trigger.client.tags", "not vars.note", "1"],
)
def test_valid_conditions(text: str) -> None:
    assert syntax_error(text, kind="condition") is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("trigger.amount >", "invalid expression"),
        ("{{ trigger.amount }}", "invalid expression"),
        ("a b", "unexpected text after the expression"),
        ("x | nope", "No filter named 'nope'"),
    ],
)
def test_condition_syntax_errors(text: str, fragment: str) -> None:
    message = syntax_error(text, kind="condition")
    assert message is not None and fragment in message
    with pytest.raises(ExpressionError, match="invalid expression"):
        evaluate(text, CONTEXT)


def test_a_condition_may_contain_braces_in_a_string() -> None:
    assert evaluate("'}}' ~ '{{' == '}}{{'", CONTEXT) is True


def test_one_placeholder_returns_the_native_value() -> None:
    assert render("{{ trigger.amount }}", CONTEXT) == 1250
    assert render("{{ trigger.amount / 100 }}", CONTEXT) == 12.5
    assert render("{{ steps.fetch.output.body }}", CONTEXT) == {"ok": True}
    assert render("{{ trigger.client.tags }}", CONTEXT) == ["vip", "eu"]
    assert render("{{ vars.note }}", CONTEXT) is None
    assert render("{{ trigger.amount > 1000 }}", CONTEXT) is True
    # A string that looks like a number stays a string: no literal_eval guessing.
    assert render("{{ '123' }}", CONTEXT) == "123"
    assert render("{{ range(3) }}", CONTEXT) == [0, 1, 2]
    assert render("{{ trigger.client.tags | map('upper') }}", CONTEXT) == ["VIP", "EU"]
    assert render("{{ trigger.client.items() | list }}", CONTEXT) == [
        ["name", "Acme"],
        ["tags", ["vip", "eu"]],
    ]


def test_native_values_are_copies_not_the_context_itself() -> None:
    body = render("{{ steps.fetch.output.body }}", CONTEXT)
    body["ok"] = False
    assert CONTEXT["steps"]["fetch"]["output"]["body"] == {"ok": True}


def test_mixed_text_is_a_string_with_json_for_typed_values() -> None:
    assert render("Hi {{ trigger.client.name }}!", CONTEXT) == "Hi Acme!"
    assert render("n={{ trigger.amount }}", CONTEXT) == "n=1250"
    assert render("{{ trigger.amount }}{{ trigger.items }}", CONTEXT) == "12503"
    assert render(" {{ trigger.amount }}", CONTEXT) == " 1250"
    assert render("{{ trigger.amount }}\n", CONTEXT) == "1250\n"
    assert (
        render('{"paid": {{ vars.note }}, "body": {{ steps.fetch.output.body }}}', CONTEXT)
        == '{"paid": null, "body": {"ok": true}}'
    )
    assert render("{{ trigger.client.name ~ '/' ~ trigger.amount }}", CONTEXT) == "Acme/1250"
    assert render("{{ trigger.client | tojson }}", CONTEXT) == (
        '{"name": "Acme", "tags": ["vip", "eu"]}'
    )
    assert render("{{ trigger.amount | string }}", CONTEXT) == "1250"


def test_text_without_placeholders_is_returned_untouched() -> None:
    assert render("no braces } here {", CONTEXT) == "no braces } here {"


def test_dict_keys_win_over_dict_methods() -> None:
    assert render("{{ trigger.items }}", CONTEXT) == 3
    assert render("{{ trigger.client.get('name') }}", CONTEXT) == "Acme"


def test_every_context_root_is_reachable() -> None:
    template = (
        "{{ trigger.client.name }}|{{ steps.fetch.output.status }}|{{ vars.threshold }}|"
        "{{ run.id }}|{{ run.version }}|{{ run.started_at }}|{{ firm.id }}|{{ firm.time_zone }}|"
        "{{ secrets.crm_api_key }}"
    )
    assert render(template, CONTEXT) == (
        "Acme|200|1000|run-1|2|2026-11-22T12:00:00+00:00|firm-1|Europe/Paris|sk_live_123"
    )


def test_evaluate_returns_the_value_of_a_condition() -> None:
    assert evaluate("trigger.amount > vars.threshold", CONTEXT) is True
    assert evaluate("trigger.amount < vars.threshold", CONTEXT) is False
    assert evaluate("'eu' in trigger.client.tags and run.version == 2", CONTEXT) is True
    assert evaluate("trigger.client.name | lower", CONTEXT) == "acme"
    assert evaluate("trigger.amount if trigger.amount > 2000 else vars.note", CONTEXT) is None


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("{{ nope }}", "'nope' is undefined"),
        ("{{ trigger.nope }}", "has no attribute 'nope'"),
        ("{{ steps.missing.output }}", "has no attribute 'missing'"),
        ("total {{ vars.missing }}", "has no attribute 'missing'"),
        ("{{ secrets.not_there }}", "has no attribute 'not_there'"),
        ("{{ trigger.client.tags[5] }}", "has no element 5"),
        ("{{ nope ~ 'x' }}", "'nope' is undefined"),
    ],
)
def test_undefined_names_are_errors_naming_the_name(text: str, name: str) -> None:
    with pytest.raises(ExpressionError, match=name):
        render(text, CONTEXT)


def test_undefined_in_a_condition_is_an_error() -> None:
    with pytest.raises(ExpressionError, match="'missing' is undefined"):
        evaluate("missing > 1", CONTEXT)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{{ 1 / 0 }}", "division by zero"),
        ("{{ 'a' + 1 }}", "can only concatenate"),
        ("{{ trigger.client.tags.index('nope') }}", "not in list"),
        ("{{ 'x' | int + none }}", "unsupported operand"),
        ("{{ 'nan' | float }}", "not a finite number"),
        ("{{ {1: 'a'} }}", "object keys must be strings"),
        ("{{ trigger.client.tags | sum(attribute='x') }}", "has no attribute 'x'"),
    ],
)
def test_runtime_failures_are_expression_errors(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=fragment):
        render(text, CONTEXT)


def test_render_params_renders_every_string_leaf() -> None:
    params = {
        "url": "https://crm.example/clients/{{ trigger.client.name | lower }}",
        "headers": {"Authorization": "Bearer {{ secrets.crm_api_key }}"},
        "body": {"amount": "{{ trigger.amount }}", "tags": ["{{ trigger.client.tags[0] }}", 7]},
        "timeout": 10,
        "retry": None,
        "flag": True,
        "{{ not_a_key_template }}": "kept",
    }
    assert render_params(params, CONTEXT) == {
        "url": "https://crm.example/clients/acme",
        "headers": {"Authorization": "Bearer sk_live_123"},
        "body": {"amount": 1250, "tags": ["vip", 7]},
        "timeout": 10,
        "retry": None,
        "flag": True,
        "{{ not_a_key_template }}": "kept",
    }
    assert params["body"] == {
        "amount": "{{ trigger.amount }}",
        "tags": ["{{ trigger.client.tags[0] }}", 7],
    }


def test_render_params_fails_on_the_first_bad_leaf() -> None:
    with pytest.raises(ExpressionError, match="'ghost' is undefined"):
        render_params({"a": ["ok", {"b": "{{ ghost }}"}]}, CONTEXT)


def test_compiled_once_per_text() -> None:
    text = "{{ trigger.amount * 2 }} cached"
    expressions._compile_template.cache_clear()
    for _ in range(5):
        assert render(text, CONTEXT) == "2500 cached"
    info = expressions._compile_template.cache_info()
    assert (info.misses, info.hits) == (1, 4)


def test_same_text_different_context() -> None:
    text = "{{ trigger.amount }}"
    assert render(text, {"trigger": {"amount": 1}}) == 1
    assert render(text, {"trigger": {"amount": 2}}) == 2


def test_rendering_is_deterministic() -> None:
    text = "{{ trigger.client | dictsort }} {{ trigger.client.tags | sort | unique | list }}"
    assert len({render(text, CONTEXT) for _ in range(20)}) == 1


def test_output_size_check() -> None:
    check_output_size({"body": "x" * (MAX_OUTPUT_BYTES - 20)})
    check_output_size(None)
    with pytest.raises(ExpressionError, match=f"larger than {MAX_OUTPUT_BYTES} bytes"):
        check_output_size({"body": "x" * MAX_OUTPUT_BYTES})
    # Multi-byte characters count by their UTF-8 size, not by characters.
    with pytest.raises(ExpressionError, match="larger than"):
        check_output_size("é" * (MAX_OUTPUT_BYTES // 2 + 1))


def test_output_size_check_stops_early_on_shared_references() -> None:
    big = ["x" * 1000] * 1000
    with pytest.raises(ExpressionError, match="larger than"):
        check_output_size([big] * 1_000_000)


@pytest.mark.parametrize("value", [{"when": object()}, float("nan"), {1, 2}, b"bytes"])
def test_output_that_is_not_json_is_refused(value: Any) -> None:
    with pytest.raises(ExpressionError, match="not JSON"):
        check_output_size(value)


@pytest.mark.parametrize(
    ("text", "kind", "names"),
    [
        ("Bearer {{ secrets.crm_api_key }}", "template", {"crm_api_key"}),
        ("{{ secrets['a'] ~ secrets.b }}{{ secrets.a }}", "template", {"a", "b"}),
        ("{{ secrets.a.strip() }}", "template", {"a"}),
        ("no placeholders, secrets.a", "template", set()),
        ("{{ trigger.secrets }}", "template", set()),
        ("secrets.token == trigger.token", "condition", {"token"}),
        ("trigger.amount > 1", "condition", set()),
    ],
)
def test_secret_names_lists_the_credentials_a_text_reads(
    text: str, kind: expressions.Kind, names: set[str]
) -> None:
    assert expressions.secret_names(text, kind) == names


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("{{ secrets[trigger.key] }}", "template"),
        ("{{ secrets }}", "template"),
        ("{{ secrets | tojson }}", "template"),
        ("secrets[vars.name] == 'x'", "condition"),
    ],
)
def test_secrets_must_be_named_literally(text: str, kind: expressions.Kind) -> None:
    with pytest.raises(ExpressionError, match="literal name"):
        expressions.secret_names(text, kind)


def test_secret_names_of_bad_syntax_is_the_syntax_error() -> None:
    with pytest.raises(ExpressionError, match="invalid expression"):
        expressions.secret_names("{{ secrets.a ", "template")
    with pytest.raises(ExpressionError, match="invalid expression"):
        expressions.secret_names("secrets.a ==", "condition")


def test_missing_values_can_be_handled_explicitly() -> None:
    assert render("{{ vars.missing | default('n/a') }}", CONTEXT) == "n/a"
    assert render("{{ vars.note | default('n/a', true) }}", CONTEXT) == "n/a"
    assert evaluate("vars.missing is defined", CONTEXT) is False
    assert evaluate("vars.threshold is defined", CONTEXT) is True
    assert render("{{ vars.get('missing', 3) }}", CONTEXT) == 3


def test_secret_names_in_params_walks_every_string_leaf() -> None:
    params = {
        "url": "https://crm.example/?key={{ secrets.crm_key }}",
        "headers": {"Authorization": "Bearer {{ secrets.token }}", "X-Other": "plain"},
        "body": ["{{ secrets.crm_key }}", 3, None, {"deep": "{{ trigger.x ~ secrets.extra }}"}],
        "timeout": 10,
    }
    assert expressions.secret_names_in_params(params) == {"crm_key", "token", "extra"}
    assert expressions.secret_names_in_params({"a": 1, "b": [True]}) == frozenset()
    with pytest.raises(ExpressionError, match="literal name"):
        expressions.secret_names_in_params({"h": ["{{ secrets[trigger.k] }}"]})


def test_step_names_in_params_lists_the_outputs_an_action_reads() -> None:
    params = {
        "url": "https://crm.example/{{ steps.lookup.output.body.id }}",
        "headers": {"X-Check": "{{ steps['check'].output.status }}"},
        "body": {"items": ["{{ vars.n }}", "plain text", 3, None]},
    }
    assert step_names_in_params(params) == frozenset({"lookup", "check"})
    assert step_names_in_params({"url": "https://x.test/", "body": None}) == frozenset()


def test_step_names_in_params_is_none_when_a_name_is_computed() -> None:
    assert step_names_in_params({"url": "{{ steps[vars.which].output }}"}) is None
    assert step_names_in_params({"body": ["{{ steps | length }}"]}) is None
