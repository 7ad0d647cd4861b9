from django.db import models
from django_fsm import FSMField, transition


class Menu(models.Model):
    """The one current menu of a store, replaced in place by newer versions."""

    class State(models.TextChoices):
        PENDING = "PENDING", "Announced, not yet ingested"
        PUBLISHED = "PUBLISHED", "Published"
        UNPUBLISHED = "UNPUBLISHED", "Unpublished"

    store = models.OneToOneField("integration.Store", on_delete=models.CASCADE, related_name="menu")
    menu_id = models.CharField(max_length=64, db_index=True)
    version = models.PositiveIntegerField(null=True, blank=True)
    announced_version = models.PositiveIntegerField(null=True, blank=True)
    state = FSMField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    content_hash = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    hours = models.JSONField(default=list, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    menu_url = models.CharField(max_length=2000, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True, db_index=True)
    category_count = models.PositiveIntegerField(default=0)
    item_count = models.PositiveIntegerField(default=0)
    group_count = models.PositiveIntegerField(default=0)
    modifier_count = models.PositiveIntegerField(default=0)
    revision = models.PositiveIntegerField(
        default=0, help_text="Grows whenever what the catalog shows changes (ingest, availability, publication)."
    )
    state_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="Link's time of the last menu.published/unpublished applied; older are stale."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("refresh_menu", "Can refresh a menu from Link")]

    def __str__(self):
        return f"{self.menu_id} v{self.version}" if self.version else self.menu_id

    @transition(field=state, source="*", target=State.PUBLISHED)
    def publish(self):
        pass

    @transition(field=state, source="*", target=State.UNPUBLISHED)
    def unpublish(self):
        pass


class MenuCategory(models.Model):
    menu = models.ForeignKey(Menu, on_delete=models.CASCADE, related_name="categories")
    link_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    sort_order = models.IntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        constraints = [models.UniqueConstraint(fields=["menu", "link_id"], name="category_link_id_unique")]

    def __str__(self):
        return self.name


class MenuItem(models.Model):
    menu = models.ForeignKey(Menu, on_delete=models.CASCADE, related_name="items")
    link_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = models.IntegerField(help_text="Minor units (cents).")
    available = models.BooleanField(default=True)
    image_url = models.CharField(max_length=2000, blank=True)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=5, default=0)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["menu", "link_id"], name="item_link_id_unique")]

    def __str__(self):
        return self.name


class ModifierGroup(models.Model):
    menu = models.ForeignKey(Menu, on_delete=models.CASCADE, related_name="modifier_groups")
    link_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    min_selections = models.PositiveIntegerField(default=0)
    max_selections = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["menu", "link_id"], name="group_link_id_unique")]

    def __str__(self):
        return self.name


class Modifier(models.Model):
    menu = models.ForeignKey(Menu, on_delete=models.CASCADE, related_name="modifiers")
    link_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    price = models.IntegerField(help_text="Minor units (cents).")
    available = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["menu", "link_id"], name="modifier_link_id_unique")]

    def __str__(self):
        return self.name


class CategoryItem(models.Model):
    category = models.ForeignKey(MenuCategory, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(MenuItem, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self):
        return f"{self.category_id} -> {self.item_id}"


class ItemGroup(models.Model):
    item = models.ForeignKey(MenuItem, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(ModifierGroup, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self):
        return f"{self.item_id} -> {self.group_id}"


class GroupModifier(models.Model):
    group = models.ForeignKey(ModifierGroup, on_delete=models.CASCADE, related_name="+")
    modifier = models.ForeignKey(Modifier, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self):
        return f"{self.group_id} -> {self.modifier_id}"


class ModifierNestedGroup(models.Model):
    """A modifier that opens a group of its own (nesting)."""

    modifier = models.ForeignKey(Modifier, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(ModifierGroup, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self):
        return f"{self.modifier_id} -> {self.group_id}"
