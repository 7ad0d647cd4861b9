"""The marketplace's menu layer (issue 27): what changed between two menu versions, price rules, and
content overrides of Link's items. Rules live in ``services/menus/`` (price_rules, overrides)."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.models import PriceRule
from integration.selectors.menu_layer import price_rules_for_api
from integration.selectors.menu_versions import menu_versions_diff
from integration.services.menus import overrides as override_services
from integration.services.menus import price_rules as rule_services

from .errors import ApiError, ErrorSerializer
from .permissions import MANAGE_CATALOG, VIEW_MENU, VIEW_STORE
from .stores import STORE_ID, _store_or_404

VIEW_PRICE_RULE = "integration.view_pricerule"
CATALOG_MANAGERS = {"GET": (MANAGE_CATALOG,), "POST": (MANAGE_CATALOG,), "PATCH": (MANAGE_CATALOG,)}
CATALOG_MANAGERS |= {"PUT": (MANAGE_CATALOG,), "DELETE": (MANAGE_CATALOG,)}


# --- the diff ---------------------------------------------------------------------------------------------


class ChangedSerializer(serializers.Serializer):
    id = serializers.CharField()
    changes = serializers.DictField(
        child=serializers.ListField(), help_text='Only the fields that differ, old then new: {"price": [899, 949]}.'
    )


class SectionDiffSerializer(serializers.Serializer):
    added = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    changed = ChangedSerializer(many=True)


class MenuDiffSerializer(serializers.Serializer):
    # "from" is a keyword: declared below.
    to = serializers.IntegerField()
    items = SectionDiffSerializer()
    modifiers = SectionDiffSerializer()
    modifier_groups = SectionDiffSerializer()
    categories = SectionDiffSerializer()

    def get_fields(self):
        fields = super().get_fields()
        return {"from": serializers.IntegerField(), **fields}


VERSION_NUMBER = {"type": "integer", "minimum": 0, "maximum": 999_999_999}


def _version(request, name: str) -> int:
    raw = request.query_params.get(name, "")
    if not raw.isdigit() or len(raw) > 9:
        raise ApiError(
            422, "invalid_request", f"?{name}= must be a version number.", [{"field": name, "code": "invalid"}]
        )
    return int(raw)


class MenuDiffApi(APIView):
    client_permissions = {"GET": ()}
    staff_permissions = {"GET": (VIEW_STORE, VIEW_MENU)}

    @extend_schema(
        operation_id="stores_menu_diff",
        summary="What changed between two kept versions of the store's menu",
        description="Per section (items, modifiers, modifier_groups, categories): ids added and removed, and for "
        "each id in both the fields that differ, old then new. The last MENU_VERSIONS_KEPT versions are kept.",
        parameters=[
            STORE_ID,
            OpenApiParameter("from", VERSION_NUMBER, OpenApiParameter.QUERY, required=True),
            OpenApiParameter("to", VERSION_NUMBER, OpenApiParameter.QUERY, required=True),
        ],
        responses={
            200: MenuDiffSerializer,
            404: OpenApiResponse(ErrorSerializer, description="store_not_found or version_not_kept"),
            422: ErrorSerializer,
        },
    )
    def get(self, request, store_id: str):
        store = _store_or_404(store_id)
        old, new = _version(request, "from"), _version(request, "to")
        diff = menu_versions_diff(store, old, new)
        if diff is None:
            raise ApiError(404, "version_not_kept", f"Versions {old} and {new} are not both kept for this store.")
        return Response(diff)


# --- price rules ------------------------------------------------------------------------------------------


class RoundingSerializer(serializers.Serializer):
    step = serializers.IntegerField(help_text="0: none; else round up to a price ending in `ending` modulo `step`.")
    ending = serializers.IntegerField(help_text="Below `step` (step 50, ending 49: x.49 / x.99).")


class PriceRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    stores = serializers.ListField(child=serializers.CharField(), help_text="Storefront ids; empty: every store.")
    markup_percent = serializers.CharField(help_text='Decimal string, e.g. "10.00".')
    markup_fixed = serializers.IntegerField(help_text="Minor units, added after the percent.")
    rounding = RoundingSerializer()
    exclude_items = serializers.ListField(child=serializers.CharField(), help_text="Items that keep Link's price.")
    modifiers = serializers.BooleanField(help_text="The markup applies to modifiers too.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PriceRuleRequestSerializer(serializers.Serializer):
    """Documents the body; the service validates it (every problem listed, 422)."""

    name = serializers.CharField()
    stores = serializers.ListField(child=serializers.CharField(), required=False)
    markup_percent = serializers.CharField(required=False)
    markup_fixed = serializers.IntegerField(required=False)
    rounding = RoundingSerializer(required=False)
    exclude_items = serializers.ListField(child=serializers.CharField(), required=False)
    modifiers = serializers.BooleanField(required=False)


def rule_data(rule: PriceRule) -> dict:
    return {
        "id": rule.pk,
        "name": rule.name,
        "stores": [s.external_store_id or s.venue_id for s in rule.stores.all()],
        "markup_percent": f"{rule.markup_percent:.2f}",
        "markup_fixed": rule.markup_fixed,
        "rounding": {"step": rule.rounding_step, "ending": rule.rounding_ending},
        "exclude_items": list(rule.exclude_items),
        "modifiers": rule.modifiers,
        "created_at": serializers.DateTimeField().to_representation(rule.created_at),
        "updated_at": serializers.DateTimeField().to_representation(rule.updated_at),
    }


def _fields(request, *, partial: bool) -> rule_services.RuleFields:
    body = request.data
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_request", "The body must be a JSON object.")
    known = {"name", "stores", "markup_percent", "markup_fixed", "rounding", "exclude_items", "modifiers"}
    unknown = sorted(set(body) - known)
    problems = [{"field": key, "code": "unknown", "message": "Unknown field."} for key in unknown]
    rounding = body.get("rounding")
    if rounding is not None and not isinstance(rounding, dict):
        problems.append({"field": "rounding", "code": "invalid", "message": 'An object {"step", "ending"}.'})
        rounding = None
    if problems:
        raise ApiError(422, "invalid_request", "The price rule has invalid fields.", problems)
    rounding = rounding or {}
    defaults = {} if partial else {"stores": [], "markup_percent": "0", "markup_fixed": 0}
    defaults |= {} if partial else {"exclude_items": [], "modifiers": True}
    if not partial:
        rounding = {"step": 0, "ending": 0} | rounding
    body = defaults | body
    return rule_services.RuleFields(
        name=body.get("name"),
        stores=body.get("stores"),
        markup_percent=body.get("markup_percent"),
        markup_fixed=body.get("markup_fixed"),
        rounding_step=rounding.get("step"),
        rounding_ending=rounding.get("ending"),
        exclude_items=body.get("exclude_items"),
        modifiers=body.get("modifiers"),
    )


def _refused(exc) -> ApiError:
    return ApiError(422, exc.code, exc.message, exc.errors)


class PriceRuleListApi(APIView):
    parser_classes = [JSONParser]
    client_permissions = {"GET": (MANAGE_CATALOG,), "POST": (MANAGE_CATALOG,)}
    staff_permissions = {"GET": (VIEW_PRICE_RULE,), "POST": (MANAGE_CATALOG,)}

    @extend_schema(
        operation_id="price_rules_list", summary="Price rules", responses={200: PriceRuleSerializer(many=True)}
    )
    def get(self, request):
        return Response([rule_data(rule) for rule in price_rules_for_api()])

    @extend_schema(
        operation_id="price_rules_create",
        summary="Create a price rule",
        description="Price = Link's price x (1 + markup_percent/100) + markup_fixed, rounded half up to the minor "
        "unit, then with a rounding step up to the next price ending in `ending` modulo `step`. Excluded items "
        "(and, with modifiers false, modifiers) keep Link's price. For a store the most specific rule wins: one "
        "naming the store over one for every store (stores empty); among equals the newest.",
        request=PriceRuleRequestSerializer,
        responses={201: PriceRuleSerializer, 422: ErrorSerializer},
    )
    def post(self, request):
        try:
            rule = rule_services.price_rule_create(_fields(request, partial=False), user=request.user)
        except rule_services.PriceRuleInvalid as exc:
            raise _refused(exc) from exc
        return Response(rule_data(rule), status=status.HTTP_201_CREATED)


class PriceRuleDetailApi(APIView):
    parser_classes = [JSONParser]
    client_permissions = {"GET": (MANAGE_CATALOG,), "PATCH": (MANAGE_CATALOG,), "DELETE": (MANAGE_CATALOG,)}
    staff_permissions = {"GET": (VIEW_PRICE_RULE,), "PATCH": (MANAGE_CATALOG,), "DELETE": (MANAGE_CATALOG,)}

    def _rule(self, rule_id: int) -> PriceRule:
        rule = price_rules_for_api().filter(pk=rule_id).first()
        if rule is None:
            raise ApiError(404, "not_found", f"No price rule {rule_id}.")
        return rule

    @extend_schema(operation_id="price_rules_read", summary="A price rule", responses={200: PriceRuleSerializer})
    def get(self, request, rule_id: int):
        return Response(rule_data(self._rule(rule_id)))

    @extend_schema(
        operation_id="price_rules_update",
        summary="Change a price rule (the fields given)",
        request=PriceRuleRequestSerializer,
        responses={200: PriceRuleSerializer, 404: ErrorSerializer, 422: ErrorSerializer},
    )
    def patch(self, request, rule_id: int):
        rule = self._rule(rule_id)
        try:
            rule = rule_services.price_rule_update(rule, _fields(request, partial=True))
        except rule_services.PriceRuleInvalid as exc:
            raise _refused(exc) from exc
        return Response(rule_data(self._rule(rule.pk)))

    @extend_schema(operation_id="price_rules_delete", summary="Delete a price rule", responses={204: None})
    def delete(self, request, rule_id: int):
        rule_services.price_rule_delete(self._rule(rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- content overrides ------------------------------------------------------------------------------------


class OverrideRequestSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_null=True)
    image_url = serializers.CharField(required=False, allow_null=True, help_text="https only.")
    hidden = serializers.BooleanField(required=False)


class OverrideSerializer(serializers.Serializer):
    item_id = serializers.CharField()
    name = serializers.CharField(allow_null=True, help_text="null: Link's.")
    description = serializers.CharField(allow_null=True, help_text="null: Link's.")
    image_url = serializers.CharField(allow_null=True, help_text="null: Link's.")
    hidden = serializers.BooleanField()
    updated_at = serializers.DateTimeField()


class ItemOverrideApi(APIView):
    parser_classes = [JSONParser]
    client_permissions = {"PUT": (MANAGE_CATALOG,), "DELETE": (MANAGE_CATALOG,)}
    staff_permissions = {"PUT": (MANAGE_CATALOG,), "DELETE": (MANAGE_CATALOG,)}

    @extend_schema(
        operation_id="stores_menu_item_override_set",
        summary="Set our name, description, image or hiding of one of Link's items",
        description="Replaces the item's override (a field not given goes back to Link's). Kept across every "
        "new menu version; kept (orphaned) while Link's menu lacks the item. A hidden item leaves the catalog "
        "and ordering it answers 422 item_unavailable.",
        parameters=[STORE_ID, OpenApiParameter("item_id", str, OpenApiParameter.PATH)],
        request=OverrideRequestSerializer,
        responses={200: OverrideSerializer, 201: OverrideSerializer, 404: ErrorSerializer, 422: ErrorSerializer},
    )
    def put(self, request, store_id: str, item_id: str):
        store = _store_or_404(store_id)
        try:
            override, created = override_services.item_override_set(store, item_id, request.data, user=request.user)
        except override_services.OverrideInvalid as exc:
            raise ApiError(422, exc.code, exc.message, exc.errors) from exc
        return Response(
            OverrideSerializer(override).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        operation_id="stores_menu_item_override_delete",
        summary="Drop the item's override (Link's content again)",
        parameters=[STORE_ID, OpenApiParameter("item_id", str, OpenApiParameter.PATH)],
        responses={204: None, 404: ErrorSerializer},
    )
    def delete(self, request, store_id: str, item_id: str):
        if not override_services.item_override_delete(_store_or_404(store_id), item_id):
            raise ApiError(404, "not_found", f"No override of {item_id!r} at this store.")
        return Response(status=status.HTTP_204_NO_CONTENT)
