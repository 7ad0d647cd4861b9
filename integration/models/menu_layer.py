"""The marketplace's own layer over Link's menus (issue 27): the versions Link published, kept
compactly to compare; our price rules; our content overrides of Link's items."""

from django.conf import settings
from django.db import models


class MenuVersion(models.Model):
    """One version of a store's menu as Link published it: the normalized content as compressed JSON
    (``{items, modifiers, modifier_groups, categories}``, each keyed by Link's id), written in the ingest
    transaction; the last ``MENU_VERSIONS_KEPT`` per store are kept."""

    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="menu_versions")
    menu_id = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="USD")
    content = models.BinaryField(help_text="zlib-compressed JSON of the normalized content.")
    previous_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The version this one was compared with at ingest (null: none kept)."
    )
    summary = models.JSONField(
        null=True,
        blank=True,
        help_text='Against previous_version: {"items": {"added", "removed", "changed"}, ..., "prices": '
        '{"changed", "compared", "percent"}}.',
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["store_id", "-version"]
        constraints = [models.UniqueConstraint(fields=["store", "version"], name="menu_version_store_version_unique")]
        indexes = [models.Index(fields=["created_at"], name="menu_version_created")]

    def __str__(self):
        return f"{self.menu_id} v{self.version}"


class PriceRule(models.Model):
    """A markup on Link's prices. A rule naming stores applies to those; one naming none to every store;
    for a store the most specific rule wins (its own over an every-store rule; among equals the newest)."""

    name = models.CharField(max_length=200)
    stores = models.ManyToManyField("integration.Store", blank=True, related_name="price_rules")
    markup_percent = models.DecimalField(max_digits=7, decimal_places=2, default=0)
    markup_fixed = models.IntegerField(default=0, help_text="Minor units, added after the percent.")
    rounding_step = models.PositiveIntegerField(default=0, help_text="0: no step; else round up to a multiple.")
    rounding_ending = models.PositiveIntegerField(
        default=0, help_text="With a step: the price ends so (step 50, ending 49: x.49 / x.99)."
    )
    exclude_items = models.JSONField(default=list, blank=True, help_text="Link item ids that keep Link's price.")
    modifiers = models.BooleanField(default=True, help_text="Apply the markup to modifiers too.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]  # manage_catalog, on Order's Meta with the other client permissions, guards them

    def __str__(self):
        return self.name


class ItemOverride(models.Model):
    """Our words for one of Link's items at one store; kept whatever Link publishes (orphaned while the
    item is off Link's menu, applied again when it returns). A null field keeps Link's."""

    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="item_overrides")
    item_id = models.CharField(max_length=64, help_text="Link's item id.")
    name = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 (null = Link's)
    description = models.TextField(null=True, blank=True)  # noqa: DJ001 (null = Link's)
    image_url = models.URLField(max_length=2000, null=True, blank=True)  # noqa: DJ001 (null = Link's)
    hidden = models.BooleanField(default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store_id", "item_id"]
        constraints = [models.UniqueConstraint(fields=["store", "item_id"], name="item_override_store_item_unique")]

    def __str__(self):
        return f"{self.item_id} @ {self.store_id}"
