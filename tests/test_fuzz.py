"""The API fuzzed against its own OpenAPI schema with schemathesis: on a small demo
city, every operation gets generated valid (positive) and invalid (negative)
parameters and bodies; no response may be a server error, and every response must
match the schema (documented status code, body of the documented model).

Bounded: at most MAX_EXAMPLES examples per operation and mode, each within a generous
DEADLINE (the first request of the report builds its charts), derandomized (seeded).
The write routes are fuzzed too, on a server without a token: they must answer their
documented 403 whatever the body. (schemathesis' pytest plugin does not run under
pytest 9, so the operations are driven here with Hypothesis directly.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from safetygap.api.app import create_app
from safetygap.settings import Settings

MAX_EXAMPLES = 20
DEADLINE = timedelta(seconds=20)
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture(scope="module")
def api_schema(demo_workspace):
    app = create_app(demo_workspace, settings=Settings(tiles="none", api_token=None))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _fuzz(operation, mode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=DEADLINE, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        case.call_and_validate(checks=CHECKS)

    run()


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda m: m.value)
def test_api_matches_its_schema(api_schema, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    labels = [op.label for op in operations]
    assert "GET /api/summary" in labels and "POST /api/datasets" in labels
    failures = []
    for operation in operations:
        try:
            _fuzz(operation, mode)
        except Unsatisfiable:  # negative mode: nothing invalid to send (no parameters)
            assert mode == schemathesis.GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
