"""schemathesis on the self-check's OpenAPI document: every answer matches the schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ariane.selfcheck.app import Settings, create_app
from ariane.selfcheck.index import read_hmac_key
from ariane.selfcheck.limits import Limit, Limits
from selfcheck_fixtures import build

UNLIMITED = Limits(Limit(10**9, 60), Limit(10**9, 60), Limit(10**9, 60))


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    built = build(tmp_path_factory.mktemp("selfcheck-openapi"))
    jobs = []
    app = create_app(
        Settings(built.index_dir, read_hmac_key(built.hmac_key), UNLIMITED), jobs.append
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_api_conforms(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert {"GET /", "POST /check", "GET /healthz"} <= labels
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
        def conforms(case):
            # A NIR's key, a real date, the NIR-with-its-date pairing: rules JSON Schema
            # cannot state, so schema-valid data may rightly get a 400 saying what to fix.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        conforms()
