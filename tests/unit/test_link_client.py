import logging
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses

from integration.link.client import LinkClient, PermanentError, RetriableError, get_client
from integration.models import LinkToken
from tests.conftest import LINK

pytestmark = pytest.mark.django_db


def token_calls(rsps):
    return [c for c in rsps.calls if c.request.url.endswith("/oauth/token")]


def test_one_token_for_many_calls(mocked_link):
    mocked_link.add(responses.GET, f"{LINK}/v2/venues/ven_1", json={"venue_id": "ven_1", "status": "ACTIVE"})
    client = get_client()
    for _ in range(5):
        assert client.request("GET", "/v2/venues/ven_1").data["status"] == "ACTIVE"
    assert len(token_calls(mocked_link)) == 1
    sent = [c for c in mocked_link.calls if "/v2/" in c.request.url]
    assert all(c.request.headers["Authorization"] == "Bearer tok-1" for c in sent)
    form = token_calls(mocked_link)[0].request.body
    assert "grant_type=client_credentials" in form and "client_id=mp-client" in form


def test_token_shared_across_clients_through_the_database(mocked_link):
    mocked_link.add(responses.GET, f"{LINK}/v2/venues/ven_1", json={})
    LinkClient().request("GET", "/v2/venues/ven_1")
    LinkClient().request("GET", "/v2/venues/ven_1")  # a second process would start like this
    assert len(token_calls(mocked_link)) == 1
    assert LinkToken.objects.get().access_token == "tok-1"


def test_token_refreshed_shortly_before_expiry(mocked_link):
    mocked_link.replace(responses.POST, f"{LINK}/oauth/token", json={"access_token": "short", "expires_in": 1})
    mocked_link.add(responses.GET, f"{LINK}/v2/venues/ven_1", json={})
    client = get_client()
    client.request("GET", "/v2/venues/ven_1")
    client.request("GET", "/v2/venues/ven_1")
    # A 1 s token is used at most until 0.9 s: the second call may reuse it only if fast enough.
    row = LinkToken.objects.get()
    assert (row.expires_at - row.fetched_at).total_seconds() == pytest.approx(0.9, abs=0.01)


def test_concurrent_first_calls_fetch_one_token(mocked_link, transactional_db):
    mocked_link.add(responses.GET, f"{LINK}/v2/venues/ven_1", json={})
    client = get_client()
    errors = []

    def call():
        try:
            client.request("GET", "/v2/venues/ven_1")
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(token_calls(mocked_link)) == 1


def test_401_refreshes_once_and_repeats(mocked_link):
    mocked_link.replace(responses.POST, f"{LINK}/oauth/token", json={"access_token": "tok-1", "expires_in": 3600})
    mocked_link.add(responses.POST, f"{LINK}/oauth/token", json={"access_token": "tok-2", "expires_in": 3600})
    mocked_link.add(responses.GET, f"{LINK}/v2/venues/ven_1", status=401, json={"error": {"code": "unauthorized"}})
    mocked_link.add(responses.GET, f"{LINK}/v2/venues/ven_1", json={"status": "ACTIVE"})
    assert get_client().request("GET", "/v2/venues/ven_1").data == {"status": "ACTIVE"}
    venue_calls = [c for c in mocked_link.calls if "/v2/" in c.request.url]
    assert [c.request.headers["Authorization"] for c in venue_calls] == ["Bearer tok-1", "Bearer tok-2"]
    assert len(token_calls(mocked_link)) == 2


def test_second_401_is_permanent_not_a_loop(mocked_link):
    mocked_link.add(responses.GET, f"{LINK}/v2/venues/ven_1", status=401, json={})
    with pytest.raises(PermanentError) as err:
        get_client().request("GET", "/v2/venues/ven_1")
    assert err.value.status_code == 401
    assert len([c for c in mocked_link.calls if "/v2/" in c.request.url]) == 2


@pytest.mark.parametrize(
    ("status", "headers", "exc", "retry_after"),
    [
        (503, {}, RetriableError, None),
        (500, {}, RetriableError, None),
        (429, {"Retry-After": "7"}, RetriableError, 7.0),
        (404, {}, PermanentError, None),
        (422, {}, PermanentError, None),
        (409, {}, PermanentError, None),
    ],
)
def test_status_mapping(mocked_link, status, headers, exc, retry_after):
    mocked_link.add(
        responses.POST,
        f"{LINK}/v2/orders",
        status=status,
        headers=headers,
        json={"error": {"code": "some_code", "message": "said Link"}},
    )
    with pytest.raises(exc) as err:
        get_client().request("POST", "/v2/orders", json={})
    assert err.value.status_code == status
    assert err.value.retry_after == retry_after
    assert err.value.code == "some_code"


def test_timeout_and_connection_errors_are_retriable(mocked_link):
    mocked_link.add(responses.GET, f"{LINK}/v2/venues/a", body=requests.ReadTimeout("slow"))
    mocked_link.add(responses.GET, f"{LINK}/v2/venues/b", body=requests.ConnectionError("refused"))
    with pytest.raises(RetriableError) as timeout:
        get_client().request("GET", "/v2/venues/a")
    with pytest.raises(RetriableError) as conn:
        get_client().request("GET", "/v2/venues/b")
    assert (timeout.value.code, conn.value.code) == ("timeout", "connection")


def test_redirects_are_not_followed(mocked_link):
    mocked_link.add(responses.GET, f"{LINK}/v2/venues/ven_1", status=302, headers={"Location": "http://evil.test/"})
    with pytest.raises(PermanentError) as err:
        get_client().request("GET", "/v2/venues/ven_1")
    assert err.value.code == "redirect_refused"
    assert not any("evil.test" in c.request.url for c in mocked_link.calls)


def test_timeouts_are_set_on_every_request(mocked_link, settings):
    settings.LINK_CONNECT_TIMEOUT, settings.LINK_READ_TIMEOUT = 2.0, 7.0
    mocked_link.add(responses.GET, f"{LINK}/v2/venues/ven_1", json={})
    from integration.link.client import reset_client

    reset_client()
    get_client().request("GET", "/v2/venues/ven_1")
    assert all(c.request.req_kwargs["timeout"] == (2.0, 7.0) for c in mocked_link.calls)


def test_size_cap(mocked_link):
    mocked_link.add(responses.GET, f"{LINK}/menus/big", body=b"x" * 5000)
    with pytest.raises(PermanentError) as err:
        get_client().request("GET", f"{LINK}/menus/big", max_bytes=1000)
    assert err.value.code == "too_large"


def test_bad_client_credentials_are_permanent_and_name_the_fix(mocked_link):
    mocked_link.replace(responses.POST, f"{LINK}/oauth/token", status=401, json={"error": "invalid_client"})
    with pytest.raises(PermanentError, match="LINK_CLIENT_SECRET"):
        get_client().request("GET", "/v2/venues/ven_1")


def test_secrets_and_tokens_never_logged(mocked_link, caplog):
    mocked_link.add(responses.GET, f"{LINK}/v2/venues/ven_1", status=401, json={})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PermanentError) as err:
        get_client().request("GET", "/v2/venues/ven_1")
    text = caplog.text + repr(err.value.request)
    assert "tok-1" not in text and "mp-secret" not in text
    assert err.value.request["headers"]["Authorization"] == "***"


def test_a_retry_after_date_is_honoured_as_well_as_seconds(mocked_link):
    in_two_minutes = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    mocked_link.add(responses.POST, f"{LINK}/v2/orders", status=429, headers={"Retry-After": in_two_minutes}, json={})
    with pytest.raises(RetriableError) as err:
        get_client().request("POST", "/v2/orders", json={})
    assert 115 <= err.value.retry_after <= 120
