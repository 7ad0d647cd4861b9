"""Issue 23, closing the class: a corpus of hostile values sent to every URL the project routes, as an
anonymous caller, a Support user (read only) and an API client with no permissions: no 5xx, no change.

URLs come from ``get_resolver()`` (every named pattern and every view, the admin's namespace included),
each filled once with plausible ids and once per hostile value in each of its parameters. Admin change
lists also get hostile values in every parameter their list filters expect (read from the filter specs),
in paging, sorting, search and cursors, and hostile action posts; the API and Link's webhook get hostile
bodies (deep JSON, NUL, lone surrogates, 10^20, -1, 300 characters), odd Accept and Content-Type
headers. Before and after: a checksum of every row of the project's tables and of users and tokens.
"""

import hashlib
import json
import time
from urllib.parse import quote, urlencode

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.test import Client, RequestFactory
from django.urls import get_resolver
from rest_framework.authtoken.models import Token

from integration.link import signatures
from integration.models import Menu, Order, PriceRule, WebhookEndpoint
from integration.services.ops.roles import SUPPORT, roles_setup
from tests.conftest import SECRET, store_connected
from tests.order_fixtures import api_client, api_user, make_store, order_request

pytestmark = pytest.mark.django_db

LONE_SURROGATE = "\ud800"
HOSTILE_TEXT = ["a\x00b", "\x00", LONE_SURROGATE, "1" + "0" * 20, "-1", "x" * 300, "' OR 1=1 --", "../../etc"]
HOSTILE_JSON_VALUES = ["a\x00b", LONE_SURROGATE, 10**20, -1, "x" * 300, None, [], {}, True, 1.5]
DEEP = "[" * 1000 + "]" * 1000
ACCEPTS = ["text/html", "application/xml", "*/*;q=abc", "image/png", "application/json; version=99", ""]
CONTENT_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=zz",
    "application/json; charset=utf-16",
    "application/xml",
    "",
]
API_METHODS = ["get", "post", "put", "patch", "delete", "options", "head"]
SKIP_FOR_SESSIONS = ("admin/logout/",)  # would end the session the rest of the corpus uses


def url_templates() -> list[tuple[str, tuple[str, ...]]]:
    """Every routed URL as (``%(name)s`` format, its parameters), from the resolver and its namespaces."""

    def walk(resolver, prefix=""):
        for entries in resolver.reverse_dict.lists():
            for possibilities, _pattern, _defaults, _converters in entries[1]:
                for fmt, params in possibilities:
                    yield prefix + fmt, tuple(params)
        for ns_prefix, sub in resolver.namespace_dict.values():
            yield from walk(sub, prefix + ns_prefix)

    return sorted(set(walk(get_resolver())))


def checksum() -> dict[str, str]:
    """Per table, a digest of every row: the project's tables, users, groups and tokens."""
    digests = {}
    for model in [*apps.get_app_config("integration").get_models(), User, Group, Token]:
        digest = hashlib.sha256()
        for row in model.objects.order_by("pk").values_list():
            digest.update(repr(row).encode())
        digests[model._meta.label] = digest.hexdigest()
    return digests


class Corpus:
    def __init__(self):
        self.requests = 0
        self.urls: set[str] = set()
        self.server_errors: list[str] = []

    def send(self, who: str, client, method: str, path: str, *args, **kwargs):
        self.requests += 1
        self.urls.add(path.split("?")[0])
        try:
            if method == "generic":  # (HTTP method, path, body): any Content-Type, none included
                resp = client.generic(args[0], path, *args[1:], **kwargs)
            else:
                resp = getattr(client, method)(path, *args, **kwargs)
        except Exception as exc:  # the test client re-raises a view's exception: that is the 500
            self.server_errors.append(f"{who} {method.upper()} {path[:160]!r}: {type(exc).__name__}: {exc}"[:400])
            return None
        not_ready = resp.status_code == 503 and path.startswith("/readyz/")  # no worker in tests: its answer
        if resp.status_code >= 500 and not not_ready:
            self.server_errors.append(f"{who} {method.upper()} {path[:160]!r}: {resp.status_code}")
        return resp


def fill(fmt: str, params, values: dict) -> str:
    return fmt % {p: quote(str(values[p]), safe="", errors="surrogatepass") for p in params}


def query(params: dict) -> str:
    """A query string; a lone surrogate goes as its (invalid) UTF-8 bytes."""
    return urlencode(params, errors="surrogatepass")


def plausible(fmt: str, data: dict) -> dict:
    """Real ids for a template's parameters (the model is read from an admin URL's path)."""
    parts = fmt.split("/")
    values = {"app_label": "integration", "url": "nothing-here", "id": data["user_pk"]}
    values["content_type_id"] = ContentType.objects.get_for_model(Order).pk
    values["external_order_id"] = data["order_id"]
    values["store_id"] = "sf_1"
    values["endpoint_id"] = data["endpoint_pk"]
    values["object_id"] = data["order_pk"]
    values["menu_id"] = values["menu_pk"] = data["menu_pk"]
    values["item_id"] = values["entry_id"] = "itm_soda"
    values["rule_id"] = data["rule_pk"]
    if len(parts) > 3 and parts[0] == "admin" and "%(" not in parts[1] + parts[2]:
        try:
            model = apps.get_model(parts[1], parts[2])
            first = model._default_manager.order_by("pk").first()
            values["object_id"] = first.pk if first else 1
        except LookupError:
            pass
    return values


@pytest.fixture
def world(client, post_event, settings):
    settings.API_RATE_LIMIT = ""  # every request reaches its view (the limit has its own test)
    make_store()
    placer = api_client(api_user("placer"))
    placed = placer.post("/api/v1/orders/", order_request(), format="json")
    assert placed.status_code == 201
    settings.MP_WEBHOOK_HOSTS = ["hooks.example.com"]
    endpoint = placer.post(
        "/api/v1/webhook-endpoints/",
        {"url": "https://hooks.example.com/x", "event_types": ["order.ready"]},
        format="json",
    )
    assert endpoint.status_code == 201, endpoint.content
    assert post_event(store_connected(venue_id="ven_2", external_store_id="sf_2")).status_code == 200
    roles_setup()
    support = User.objects.create_user("support-1", password="pw", is_staff=True)
    support.groups.add(Group.objects.get(name=SUPPORT))
    support_client = Client()
    support_client.force_login(support)
    nobody = api_client(api_user("nobody", permissions=[]))
    return {
        "order_id": placed.json()["external_order_id"],
        "order_pk": Order.objects.get().pk,
        "endpoint_pk": WebhookEndpoint.objects.get().pk,
        "menu_pk": Menu.objects.get(store__external_store_id="sf_1").pk,
        "rule_pk": PriceRule.objects.create(name="Every store, Link's prices").pk,
        "user_pk": support.pk,
        "callers": {"anonymous": Client(), "support": support_client, "nobody": nobody},
        "support": support,
    }


def changelist_parameters(model_admin, user) -> set[str]:
    """The query parameters a change list's filters expect, read from its filter specs."""
    request = RequestFactory().get("/")
    request.user = user
    params = {"q", "o", "p", "e", "older", "store_q", "_to_field", "_popup"}
    try:
        changelist = model_admin.get_changelist_instance(request)
    except Exception:
        return params
    for spec in changelist.filter_specs:
        params.update(spec.expected_parameters())
    return params


@pytest.mark.sweep
def test_hostile_corpus_to_every_url_is_never_a_5xx_and_changes_nothing(world, record_property):
    started = time.monotonic()
    corpus = Corpus()
    callers = world["callers"]
    templates = url_templates()
    before = checksum()

    # 1. Every URL, plausible ids and each hostile value in each parameter, GET and POST, as each caller.
    for fmt, params in templates:
        values = plausible(fmt, world)
        paths = [fill(fmt, params, values)]
        for param in params:
            paths += [fill(fmt, params, {**values, param: bad}) for bad in HOSTILE_TEXT]
        for who, caller in callers.items():
            if who != "anonymous" and fmt.startswith(SKIP_FOR_SESSIONS):
                continue
            for path in paths:
                corpus.send(who, caller, "get", "/" + path)
            corpus.send(who, caller, "post", "/" + paths[0], data={"x": "a\x00b", "username": "u" * 300})

    # 2. Admin change lists: hostile values in every filter parameter, paging, sorting, search; hostile actions.
    site = admin.site
    for model, model_admin in site._registry.items():
        opts = model._meta
        base = f"/admin/{opts.app_label}/{opts.model_name}/"
        for param in sorted(changelist_parameters(model_admin, world["support"])):
            for bad in HOSTILE_TEXT:
                corpus.send("support", callers["support"], "get", f"{base}?{query({param: bad})}")
        corpus.send("support", callers["support"], "get", f"{base}?o=1&p={10**20}")
        for action in [name for _, name, _ in model_admin._get_base_actions()] + ["a\x00b"]:
            for bad in ("a\x00b", str(10**20), "-1"):
                body = {"action": action, "_selected_action": bad, "index": "0", "apply": "1", "reason": bad}
                corpus.send("support", callers["support"], "post", base, data=body)
        if model is Order:
            for bad in HOSTILE_TEXT:
                corpus.send("support", callers["support"], "get", f"{base}export.csv?{query({'state': bad})}")
    for page in ("board", "trends", "live"):
        for bad in HOSTILE_TEXT:
            for param in ("store", "range"):
                corpus.send("support", callers["support"], "get", f"/admin/{page}/?{query({param: bad})}")

    # 3. The API and Link's webhook: hostile bodies, Accept and Content-Type headers, every method.
    api_paths = [
        "/" + fill(fmt, params, plausible(fmt, world))
        for fmt, params in templates
        if fmt.startswith(("api/", "link/", "healthz", "readyz", "metrics"))
    ]
    bodies = [DEEP, "{", "", "null", "[]", json.dumps("x" * 300)]
    for field in ("store", "url", "reason_code", "event_types", "items", "customer", "limit", "enabled"):
        bodies += [json.dumps({field: value}) for value in HOSTILE_JSON_VALUES]
    bodies.append(json.dumps(order_request(store=LONE_SURROGATE)))
    bodies.append(json.dumps(order_request(customer={"name": "\x00", "phone": LONE_SURROGATE})))
    for path in api_paths:
        for who in ("nobody", "support", "anonymous"):
            caller = callers[who]
            for method in API_METHODS:
                corpus.send(who, caller, method, path)
            for body in bodies if who == "nobody" else bodies[:6]:  # others are refused before the body is read
                for method in ("post", "patch"):
                    corpus.send(who, caller, method, path, data=body, content_type="application/json")
            for accept in ACCEPTS:
                corpus.send(who, caller, "get", path, HTTP_ACCEPT=accept)
                corpus.send(who, caller, "post", path, data="{}", content_type="application/json", HTTP_ACCEPT=accept)
            for content_type in CONTENT_TYPES:
                corpus.send(who, caller, "generic", path, "POST", '{"store": "sf_1"}', content_type=content_type)
            for params in ({"limit": 10**20}, {"after": "a\x00b"}, {"limit": -1}, {"page": LONE_SURROGATE}):
                corpus.send(who, caller, "get", f"{path}?{query(params)}")
            corpus.send(who, caller, "get", path, HTTP_AUTHORIZATION="Bearer x\x00y")
            corpus.send(who, caller, "get", path, HTTP_AUTHORIZATION="Token " + "k" * 300)

    after = checksum()
    assert [table for table in before if after[table] != before[table]] == [], corpus.requests

    # 4. Link's webhook, correctly signed, with hostile envelopes: never a 5xx. Link is authenticated here, so
    # what the envelope's rules accept (DRF's: a number where an id is expected is taken as its text) is
    # stored and applied; data is compared before this part.
    webhook = Client()
    envelopes = [DEEP, json.dumps({"id": LONE_SURROGATE, "type": "store.resumed", "venue_id": "ven_1"})]
    for value in HOSTILE_JSON_VALUES:
        for field in ("id", "type", "venue_id", "created_at", "data"):
            body = store_connected(venue_id="ven_1")
            body[field] = value
            envelopes.append(json.dumps(body))
    for raw in envelopes:
        sig = signatures.sign(raw.encode(), [SECRET], None)
        for accept in ("application/json", "text/html"):
            corpus.send(
                "link",
                webhook,
                "post",
                "/link/webhooks/",
                data=raw,
                content_type="application/json",
                HTTP_LINK_SIGNATURE=sig,
                HTTP_ACCEPT=accept,
            )

    elapsed = time.monotonic() - started
    print(
        f"\nhostile corpus: {corpus.requests} requests to {len(corpus.urls)} distinct paths "
        f"from {len(templates)} routed URL patterns in {elapsed:.1f} s"
    )
    record_property("requests", corpus.requests)
    record_property("paths", len(corpus.urls))
    record_property("url_patterns", len(templates))
    assert not corpus.server_errors, "\n".join(corpus.server_errors[:40])
    assert len(templates) >= 100 and corpus.requests >= 5000, "the corpus lost its reach"
