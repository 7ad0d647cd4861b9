"""The store's and its menu's timeline of the MP's own controls (snoozes, special hours, busy mode)."""

from django.utils import timezone

from integration.models import Store, StoreTimelineEntry, Via


def who(user) -> str:
    return user.get_username() if user is not None else "the system"


def timeline_record(
    store: Store, *, area: str, action: str, summary: str, via: str, by=None, data: dict | None = None, at=None
) -> StoreTimelineEntry:
    """One line of the timeline, in the caller's transaction (who, when, what, from where)."""
    return StoreTimelineEntry.objects.create(
        store=store,
        area=area,
        action=action,
        summary=summary,
        via=via,
        by=by if via in (Via.API, Via.ADMIN) else None,
        data=data or {},
        at=at or timezone.now(),
    )
