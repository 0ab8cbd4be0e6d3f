"""The expression core: plain data, no Django."""

import pytest

from apps.expressions.core import (
    ExpressionError,
    Limits,
    check,
    check_template,
    evaluate,
    render_template,
)

DATA = {
    "input": {"name": "Ann", "age": 41, "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 0}]},
    "nodes": {"classify": {"output": {"label": "invoice", "score": 0.93}}},
    "run": {"id": "r1", "input": {"customer": "acme"}},
    "vars": {"threshold": 0.8},
}


@pytest.mark.parametrize(("expression", "expected"), [
    ("input.age + 1", 42),
    ("input.name + '!'", "Ann!"),
    ("nodes.classify.output.score >= vars.threshold", True),
    ("run.input.customer", "acme"),
    ("input.items.filter(i, i.qty > 0).map(i, i.sku)", ["a"]),
    ("size(input.items)", 2),
    ("has(input.missing)", False),
    ("{'who': input.name, 'n': [1, 2]}", {"who": "Ann", "n": [1, 2]}),
    ("timestamp('2025-01-01T00:00:00Z') + duration('1h')", "2025-01-01T01:00:00+00:00"),
])
def test_evaluates_over_all_four_variables(expression, expected):
    assert evaluate(expression, DATA) == expected


@pytest.mark.parametrize(("expression", "position"), [
    ("1 +", 3),
    ("input.age >", 11),
    ("size(input", 10),
    ("input.a\n  + )", 12),
])
def test_syntax_errors_carry_their_position(expression, position):
    error = check(expression)
    assert isinstance(error, ExpressionError)
    assert error.position == position
    assert error.message.startswith("Syntax error")


def test_unknown_variables_are_reported_where_they_are():
    error = check("input.a + secret.key")
    assert error.position == 10
    assert "secret" in error.message
    assert check("item.a > 1", names=("item",)) is None
    assert check("input.list.map(x, x * 2)") is None  # bound names are not free variables


def test_runtime_errors_are_expression_errors():
    with pytest.raises(ExpressionError, match="No such key"):
        evaluate("input.nope", DATA)
    with pytest.raises(ExpressionError, match="Division by zero"):
        evaluate("1 / 0", DATA)
    with pytest.raises(ExpressionError, match="Unknown variable"):
        evaluate("os.environ", DATA)


def test_only_the_given_data_is_reachable():
    # Nothing outside the data: no Python builtins, no attributes of Python objects.
    for expression in ("__import__('os')", "open('/etc/passwd')", "globals()",
                       "input.__class__", "eval('1')"):
        with pytest.raises(ExpressionError):
            evaluate(expression, DATA)
    # Names in `data` that the expression does not reference are never handed over.
    assert evaluate("1 + 1", {"input": {}, "credential": "s3cret"}) == 2


def test_templates_interpolate_or_keep_the_raw_value():
    assert render_template("Hi {{ input.name }}, {{ input.age }}!", DATA) == "Hi Ann, 41!"
    assert render_template("{{ input.age }}", DATA) == 41
    assert render_template("  {{ input.items[0] }} ", DATA) == {"sku": "a", "qty": 2}
    assert render_template("{{ {'a': {'b': 1}} }}", DATA) == {"a": {"b": 1}}
    assert render_template("x={{ null }} y={{ true }} z={{ [1] }}", DATA) == "x= y=true z=[1]"
    assert render_template("no templates", DATA) == "no templates"


def test_template_errors_count_from_the_start_of_the_text():
    text = "Dear {{ input.name + }} ..."
    error = check_template(text)
    assert error.position == text.index("}}") - 1
    unclosed = check_template("a {{ input.x")
    assert unclosed.position == 2
    assert "not closed" in unclosed.message
    assert check_template("plain {{ input.x }} and {{ vars.y }}") is None


def test_length_and_result_size_are_capped():
    assert "limit" in check("1 + " * 2000 + "1").message
    with pytest.raises(ExpressionError, match="larger than"):
        evaluate("input.s + input.s", {"input": {"s": "x" * 600}},
                 limits=Limits(max_result_bytes=1000))


def test_unknown_functions_and_names_are_reported_where_they_are():
    assert check("foo(1)").message == "Unknown function 'foo'."
    assert check("input.x.foo()").position == 8
    error = check("inptu.x")
    assert "Unknown variable 'inptu'" in error.message
    assert error.position == 0
    assert "No operator '+'" in check("1 + 'a'").message


def test_declared_types_are_checked():
    from apps.expressions.services import expression_check

    error = expression_check(expression="input.amount * 0.9", samples={"input": {"amount": 3}})
    assert "double(input.amount)" in error.message
    assert error.position == 13
    assert expression_check(expression="double(input.amount) * 0.9",
                            samples={"input": {"amount": 3}}) is None
    assert "input.amout" in expression_check(expression="input.amout > 1",
                                             declarations={"input.amount": "int"}).message
    # A sample declares its objects whole, too: a field it lacks may arrive at run time.
    order = {"amount": 3, "who": {"name": "Ada"}}
    for fine in ("input", "input.who", "input.amout > 1", "has(input.amount) && true",
                 "!has(input.who.name)", "input['amount'] + 1"):
        assert expression_check(expression=fine, samples={"input": order}) is None, fine
    error = expression_check(expression="has(input.amount) ? input.amount * 0.9 : 0.0",
                             samples={"input": order})
    assert "double(input.amount)" in error.message
    assert error.position == 33


def test_compiled_programs_are_cached():
    from apps.expressions import core

    evaluate("input.age * 2", DATA)
    assert core.compile_expression("input.age * 2") is core.compile_expression("input.age * 2")
