"""Shared admin plumbing: read-only admins and actions that ask for input on an intermediate form."""

import logging

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import UsernameField
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext

from integration.link.client import LinkError
from integration.models import Store
from integration.selectors.attention import attention_items, attention_label
from integration.services.errors import ActionRefused
from integration.templatetags.console import money  # noqa: F401  (the admins' one money format)

from .times import ZonedTimes

logger = logging.getLogger(__name__)

USERNAME_MAX = 150  # auth.User.username's length


class LoginForm(AdminAuthenticationForm):
    """Django's login form checks the username's length only in the browser: a 300-character name went on
    to django-axes, whose failure row (255 characters) answered 500 (issue 23 H4). Here it is the form's
    error, and nothing is looked up or recorded."""

    username = UsernameField(max_length=USERNAME_MAX, widget=AdminAuthenticationForm.base_fields["username"].widget)


class OpsModelAdmin(ZonedTimes, admin.ModelAdmin):
    """Refuses (403) an action posted by a user who may not run it; Django would only ignore it."""

    def action_checkbox(self, obj):
        """The row's select box as Django's widget renders it, written directly: rendering that widget's
        template for each of 100 rows was a quarter of a list page's time."""
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            label,
        )

    def changelist_view(self, request, extra_context=None):
        name = request.POST.get("action") if request.method == "POST" else None
        if name:
            declared = {action_name for _, action_name, _ in self._get_base_actions()}
            if name in declared and name not in self.get_actions(request):
                raise PermissionDenied(f"You may not run {name!r} on {self.model._meta.verbose_name_plural}.")
        return super().changelist_view(request, extra_context)


def attention_filter(model) -> type[admin.SimpleListFilter]:
    """``?attention=<key>``: the rows behind a dashboard card, by the very condition it counts."""
    items = {item.key: item for item in attention_items(model)}

    class AttentionFilter(admin.SimpleListFilter):
        title = "needs a person"
        parameter_name = "attention"

        def lookups(self, request, model_admin):
            return [(key, attention_label(item)) for key, item in items.items()]

        def queryset(self, request, queryset):
            item = items.get(self.value())
            return queryset.filter(item.where(timezone.now())) if item else queryset

    return AttentionFilter


def shortened(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


class ReadOnlyAdmin(OpsModelAdmin):
    """Logs are evidence: visible to staff, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ZonedTimes, admin.TabularInline):
    """Rows shown with their parent, never added, edited or deleted there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def form_action(modeladmin, request, queryset, *, form_class: type[forms.Form], title: str, perform, intro: str = ""):
    """Show ``form_class`` for the selected rows; on submit call ``perform(obj, cleaned_data)`` per row.

    ``perform`` returns a message for that row or raises ``ActionRefused`` saying why it was
    refused. Every outcome is shown to the user and written to the admin log.
    """
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            action_apply(modeladmin, request, queryset, lambda obj: perform(obj, form.cleaned_data), title)
            return None
    else:
        form = form_class()
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "form": form,
        "objects": list(queryset),
        "opts": modeladmin.model._meta,
        "action_name": request.POST.get("action"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "select_across": request.POST.get("select_across", "0"),
    }
    return TemplateResponse(request, "admin/integration/action_form.html", context)


def shown_name(modeladmin, obj) -> str:
    """A row as a message names it. Django capitalises a message's first letter, so a row named by a URL
    read "Http://..."; such a row is named after its kind first ("Webhook endpoint http://...")."""
    name = str(obj)
    return f"{capfirst(modeladmin.model._meta.verbose_name)} {name}" if "://" in name.split(" ")[0] else name


def action_apply(modeladmin, request, queryset, perform, title: str) -> None:
    """Run ``perform(obj)`` per row; report and log each outcome (done, refused and why, or failed).

    Refusals (``ActionRefused``, or Link not answering) are logged too: the admin log then shows who
    tried what, also when it did not happen. Anything else is a bug: logged with its traceback and
    shown as an error; the other rows go on.
    """
    done = refused = failed = 0
    for obj in queryset:
        name = shown_name(modeladmin, obj)
        try:
            message = perform(obj) or "done"
        except (ActionRefused, LinkError) as exc:
            refused += 1
            why = str(exc)
            if isinstance(exc, LinkError):
                why = f"Link could not be asked ({exc}); nothing changed here. Try again in a while."
            modeladmin.log_change(request, obj, f"{title}: not done: {why}")
            modeladmin.message_user(request, f"{name}: not done. {why}", messages.WARNING)
            continue
        except Exception as exc:
            failed += 1
            logger.exception("admin action %r on %s failed", title, obj)
            error = f"{type(exc).__name__}: {exc}"
            modeladmin.log_change(request, obj, f"{title}: failed: {error}")
            shown = f"{name}: failed with an unexpected error ({error}); it is logged with its traceback."
            modeladmin.message_user(request, shown, messages.ERROR)
            continue
        done += 1
        modeladmin.log_change(request, obj, f"{title}: {message}")
        modeladmin.message_user(request, f"{name}: {message}", messages.SUCCESS)
    if done + refused + failed > 1:
        summary = f"{title}: {done} done, {refused} refused" + (f", {failed} failed" if failed else "")
        modeladmin.message_user(request, f"{summary}.", messages.INFO)


class StoreFilter(admin.SimpleListFilter):
    """The store: typed (its venue id, storefront id or name), not picked from a list of every store
    (5,000 links on every page of the order list rendered for 1.5 s). ``?store__id__exact=`` still works."""

    title = "store"
    parameter_name = "store__id__exact"
    template = "admin/integration/store_filter.html"

    def __init__(self, request, params, model, model_admin):
        typed = params.pop("store_q", [""])
        self.typed = (typed[-1] if isinstance(typed, list) else typed).strip()
        if self.typed:
            found = Store.objects.filter(
                Q(venue_id=self.typed) | Q(external_store_id=self.typed) | Q(name__iexact=self.typed)
            ).first()
            params[self.parameter_name] = [str(found.pk) if found else "0"]
        super().__init__(request, params, model, model_admin)
        self.kept = [(k, v) for k, v in request.GET.items() if k not in ("store_q", self.parameter_name, "p", "older")]

    def has_output(self):
        return True

    def lookups(self, request, model_admin):
        value = self.value()
        store = Store.objects.filter(pk=value).first() if value and value.isdigit() else None
        return [(value, str(store) if store else "no such store")] if value else []

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(store_id=int(value)) if value and value.isdigit() else queryset
