"""schemathesis on ``ariane serve``'s OpenAPI document: no 500, every answer as documented.

Run logged in as a responder (every route answers in full) and as nobody (401s), with the
login route fed random bodies too.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ariane.ops import sessions
from ariane.ops.users import create_user
from ariane.serve.access import SESSION_COOKIE
from serve_fixtures import build_case, open_app


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("ARIANE_KEY_DIR", str(tmp_path_factory.mktemp("keys")))
    root = tmp_path_factory.mktemp("serve-openapi")
    build_case(root / "case", records=200, controllers=3)
    app, case, database = open_app(root / "case")
    user = create_user(database, "fuzz@example.org", "responder", None)
    token = sessions.start(database, user.user_id)
    yield schemathesis.openapi.from_asgi("/openapi.json", app), token
    case.close()
    database.close()
    monkeypatch.undo()


@pytest.mark.parametrize("logged_in", [True, False])
def test_api_conforms(served, logged_in):
    api_schema, token = served
    operations = [result.ok() for result in api_schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert {
        "GET /healthz",
        "POST /api/session",
        "GET /api/summary",
        "GET /api/controllers",
        "GET /api/controllers/{controller_id}",
        "GET /api/controllers/{controller_id}/persons",
    } <= labels
    cookies = {SESSION_COOKIE: token} if logged_in else {}
    seen = set()
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def conforms(case):
            # Schema-valid ids of controllers that do not exist rightly get 404; schema-valid
            # logins rightly get 401.
            response = case.call_and_validate(
                cookies=cookies, excluded_checks=[positive_data_acceptance]
            )
            assert response.status_code < 500
            seen.add((case.operation.label, response.status_code))

        conforms()
    # The run saw what it means to: full answers when logged in, 401 otherwise.
    expected = 200 if logged_in else 401
    assert ("GET /api/summary", expected) in seen
    assert ("GET /api/controllers/{controller_id}", 404 if logged_in else 401) in seen
