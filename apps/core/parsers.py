"""The API's JSON parser: DRF's, with the checks every way into Weft makes
(apps.core.inbound): nesting bounded, no NUL characters or lone surrogates. Bad input
is a 400 that names the problem and where it lies, before any view sees it."""

from __future__ import annotations

from rest_framework import exceptions, parsers

from apps.core.inbound import JsonProblem, check_json, max_depth


class JsonRefused(exceptions.APIException):
    """A 400 in the API's error shape (apps.core.errors), naming where the problem is.
    (Not apps.core.errors.Unprocessable: that module imports DRF's views, which import
    this parser.)"""

    status_code = 400

    def __init__(self, problem: JsonProblem) -> None:
        super().__init__(f"The request body cannot be used: {problem.path} "
                         f"{problem.message}.", problem.code)
        self.extra = {"errors": {problem.path: [problem.message]}}


def refusal(problem: JsonProblem) -> JsonRefused:
    return JsonRefused(problem)


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise refusal(JsonProblem("body", f"nested more than {max_depth()} levels deep",
                                      "too_deep")) from None
        try:
            return check_json(data, root="body")
        except JsonProblem as problem:
            raise refusal(problem) from None
