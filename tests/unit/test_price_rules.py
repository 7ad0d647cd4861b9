"""Price rules (issue 27): the rounding table as a property test against a reference written here, and
which rule wins for a store."""

from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.models import PriceRule
from integration.selectors.menu_layer import price_rule_for_store
from integration.services.menus.price_rules import price_rule_apply
from tests.factories import StoreFactory


def reference_price(link, percent, fixed, step, ending, *, item_id=None, excluded=(), modifiers=True):
    """The issue's words, computed another way: exact fractions, half up as floor(x + 1/2), and the step by
    walking up one minor unit at a time to the first price that ends in ``ending`` modulo ``step``."""
    if item_id is None and not modifiers:
        return link  # modifiers off: Link's price
    if item_id is not None and item_id in excluded:
        return link  # excluded: Link's price
    if link == 0:
        return 0  # free stays free
    exact = Fraction(link) * (1 + Fraction(str(percent)) / 100) + fixed
    price = floor(exact + Fraction(1, 2))
    if price <= 0:
        return 0
    if step:
        while price % step != ending:
            price += 1
    return price


def rule(percent="0", fixed=0, step=0, ending=0, exclude=(), modifiers=True) -> PriceRule:
    return PriceRule(
        name="r",
        markup_percent=Decimal(percent),
        markup_fixed=fixed,
        rounding_step=step,
        rounding_ending=ending,
        exclude_items=list(exclude),
        modifiers=modifiers,
    )


# The table: Link's price, percent, fixed, step, ending -> ours.
TABLE = [
    (899, "10.00", 0, 0, 0, 989),  # 988.9 rounds up
    (1000, "10.00", 0, 0, 0, 1100),
    (995, "10.00", 0, 0, 0, 1095),  # 1094.5: half up
    (1005, "15.00", 0, 0, 0, 1156),  # 1155.75
    (899, "0.00", 100, 0, 0, 999),  # fixed only
    (899, "10.00", 25, 0, 0, 1014),  # percent, then fixed
    (899, "10.00", 0, 50, 0, 1000),  # up to a multiple of 0.50
    (899, "10.00", 0, 50, 49, 999),  # x.49 / x.99
    (1000, "0.00", 0, 50, 49, 1049),
    (1049, "0.00", 0, 50, 49, 1049),  # already ends so
    (1050, "0.00", 0, 50, 49, 1099),  # never rounds down
    (1234, "0.00", 0, 100, 99, 1299),  # x.99
    (0, "10.00", 100, 50, 49, 0),  # free stays free
    (500, "-100.00", 0, 50, 49, 0),  # nothing left: free
]


@pytest.mark.parametrize(("link", "percent", "fixed", "step", "ending", "expected"), TABLE)
def test_the_rounding_table(link, percent, fixed, step, ending, expected):
    assert price_rule_apply(rule(percent, fixed, step, ending), link, item_id="itm_1") == expected
    assert reference_price(link, percent, fixed, step, ending, item_id="itm_1") == expected


steps = st.sampled_from([0, 1, 5, 10, 25, 50, 99, 100, 250])


@st.composite
def rules(draw):
    step = draw(steps)
    ending = draw(st.integers(0, step - 1)) if step else 0
    percent = draw(st.decimals(min_value=-100, max_value=1000, places=2, allow_nan=False, allow_infinity=False))
    return {
        "percent": f"{percent:.2f}",
        "fixed": draw(st.integers(-2000, 2000)),
        "step": step,
        "ending": ending,
        "exclude": draw(st.lists(st.sampled_from(["itm_1", "itm_2", "itm_3"]), max_size=2)),
        "modifiers": draw(st.booleans()),
    }


@settings(max_examples=500, deadline=None)
@given(
    link=st.integers(0, 500_000),
    spec=rules(),
    target=st.sampled_from([("item", "itm_1"), ("item", "itm_2"), ("item", "itm_9"), ("modifier", None)]),
)
def test_rule_prices_match_the_reference(link, spec, target):
    kind, item_id = target
    ours = price_rule_apply(rule(**spec), link, item_id=item_id)
    expected = reference_price(
        link,
        spec["percent"],
        spec["fixed"],
        spec["step"],
        spec["ending"],
        item_id=item_id,
        excluded=spec["exclude"],
        modifiers=spec["modifiers"],
    )
    assert ours == expected
    if expected and spec["step"] and not (item_id in spec["exclude"] or (kind == "modifier" and not spec["modifiers"])):
        assert ours % spec["step"] == spec["ending"]
    assert ours >= 0


def test_no_rule_keeps_links_price():
    assert price_rule_apply(None, 899, item_id="itm_1") == 899 and price_rule_apply(None, 150) == 150


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.sampled_from(["own", "every", "other"]), max_size=6))
def test_the_most_specific_rule_wins(plan):
    """Rules created in ``plan``'s order: the newest naming the store, else the newest for every store."""
    PriceRule.objects.all().delete()
    store = _store() or StoreFactory(venue_id="ven_p", external_store_id="sf_p")
    other = _other() or StoreFactory()
    created = []
    for n, kind in enumerate(plan):
        r = PriceRule.objects.create(name=f"{kind} {n}")
        if kind == "own":
            r.stores.set([store])
        elif kind == "other":
            r.stores.set([other])
        created.append((kind, r))
    own = [r for kind, r in created if kind == "own"]
    every = [r for kind, r in created if kind == "every"]
    expected = own[-1] if own else (every[-1] if every else None)
    assert price_rule_for_store(store) == expected


def _store():
    from integration.models import Store

    return Store.objects.filter(venue_id="ven_p").first()


def _other():
    from integration.models import Store

    return Store.objects.exclude(venue_id="ven_p").first()
