"""Every time on the console's lists and pages by one rule (``templatetags.console``): the store's own
clock where a store is the subject, else the viewer's zone; always with the zone and seconds, the other
zone on hover.

``ZonedTimes`` swaps each of the model's DateTimeFields in ``list_display``, ``fields``, ``fieldsets`` and
``readonly_fields`` for a column of the same title, sort and help that renders it so: Django's own
rendering ("Dec. 7, 2026, 4:33 a.m.") has no zone and no seconds.
"""

from django.db import models

from integration.templatetags.console import store_when, when

PREFIX = "zoned_"


def _column(field: models.DateTimeField, admin_obj):
    def show(obj):
        value = getattr(obj, field.name)
        store_zone = admin_obj.store_zone(obj)
        if admin_obj.store_is_subject:
            return store_when(value, store_zone)
        return when(value, store_zone)

    show.short_description = field.verbose_name
    show.admin_order_field = field.name
    show.help_text = field.help_text
    show.empty_value_display = "-"
    return show


class ZonedTimes:
    store_is_subject = False  # True: times on the store's clock (store, order and menu pages)

    def store_zone(self, obj) -> str | None:
        """The zone of the store ``obj`` belongs to, if any (the hover's other zone, or the shown one)."""
        store = obj if getattr(obj, "_meta", None) and obj._meta.model_name == "store" else None
        if store is None:
            try:
                store = getattr(obj, "store", None)
            except models.ObjectDoesNotExist:
                store = None
        if store is None and getattr(obj, "order_id", None) is not None:
            store = getattr(obj.order, "store", None)
        return getattr(store, "timezone", None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._zoned = {}
        for field in self.model._meta.concrete_fields:
            if isinstance(field, models.DateTimeField):
                setattr(self, PREFIX + field.name, _column(field, self))
                self._zoned[field.name] = PREFIX + field.name

    def _swap(self, names, only=None):
        """``names`` with each DateTimeField (of ``only``, if given) swapped for its zoned column."""
        if names is None:
            return names
        out = []
        for name in names:
            if isinstance(name, list | tuple):
                out.append(type(name)(self._swap(name, only)))
            elif name in self._zoned and (only is None or name in only):
                out.append(self._zoned[name])
            else:
                out.append(name)
        return type(names)(out) if isinstance(names, tuple) else out

    def get_list_display(self, request):
        return self._swap(super().get_list_display(request))

    def get_list_display_links(self, request, list_display):
        links = super().get_list_display_links(request, list_display)
        return self._swap(links) if isinstance(links, list | tuple) else links

    def get_readonly_fields(self, request, obj=None):
        return self._swap(list(super().get_readonly_fields(request, obj)))

    def get_fields(self, request, obj=None):
        readonly = set(super().get_readonly_fields(request, obj))
        return list(dict.fromkeys(self._swap(list(super().get_fields(request, obj)), readonly)))

    def get_fieldsets(self, request, obj=None):
        readonly = set(super().get_readonly_fields(request, obj))
        return [
            (title, {**options, "fields": self._swap(list(options.get("fields", ())), readonly)})
            for title, options in super().get_fieldsets(request, obj)
        ]
