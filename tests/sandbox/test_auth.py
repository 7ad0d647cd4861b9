"""OAuth tokens: issue, refuse, expire, revoke (contract section 1)."""

import time

import requests

from .conftest import CLIENT_ID, CLIENT_SECRET, LinkApi


def test_token_is_issued_for_form_and_basic_credentials(sandbox):
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    by_form = requests.post(f"{sandbox.base_url}/oauth/token", data=form, timeout=5)
    assert by_form.status_code == 200
    body = by_form.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "orders menus venues"
    assert body["access_token"]

    by_basic = requests.post(
        f"{sandbox.base_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=5,
    )
    assert by_basic.status_code == 200
    assert by_basic.json()["access_token"] != body["access_token"]


def test_wrong_credentials_answer_invalid_client(sandbox):
    api = LinkApi(sandbox.base_url)
    response = api.fetch_token(client_secret="wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"]

    grant = requests.post(f"{sandbox.base_url}/oauth/token", data={"grant_type": "password"}, timeout=5)
    assert grant.status_code == 400
    assert grant.json()["error"] == "unsupported_grant_type"


def test_api_calls_need_a_bearer_token(sandbox, control):
    missing = requests.get(f"{sandbox.base_url}/v2/venues/ven_1", timeout=5)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "invalid_token"
    assert set(missing.json()["error"]) == {"code", "message", "details"}

    bogus = requests.get(f"{sandbox.base_url}/v2/venues/ven_1", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert bogus.status_code == 401


def test_token_expires_after_its_ttl(make_sandbox):
    sandbox = make_sandbox(token_ttl=1)
    api = LinkApi(sandbox.base_url)
    assert api.fetch_token().json()["expires_in"] == 1
    assert api.call("GET", "/v2/venues/unknown").status_code == 404  # token accepted
    time.sleep(1.2)
    expired = api.call("GET", "/v2/venues/unknown")
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]["message"]


def test_revoked_tokens_answer_401_and_new_ones_work(sandbox, control, api):
    assert api.call("GET", "/v2/venues/ven_1").status_code == 200
    assert control.revoke_tokens()["tokens_revoked"] >= 1
    revoked = api.call("GET", "/v2/venues/ven_1")
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["error"]["message"]
    api.fetch_token()
    assert api.call("GET", "/v2/venues/ven_1").status_code == 200


def test_calls_log_redacts_credentials(sandbox, control, api):
    api.call("GET", "/v2/venues/ven_1")
    token_call, venue_call = control.calls()
    assert token_call["path"] == "/oauth/token"
    assert token_call["body"]["client_secret"] == "***"
    assert venue_call["headers"]["Authorization"] == "Bearer ***"
    assert venue_call["status"] == 200
