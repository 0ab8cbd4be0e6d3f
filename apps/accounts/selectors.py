from dataclasses import dataclass
from datetime import datetime

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Max, Sum
from django.utils import timezone

from apps.accounts.models import ApiToken

User = get_user_model()


def token_list(*, user, include_all: bool = False):
    qs = ApiToken.objects.select_related("user")
    return qs if include_all else qs.filter(user=user)


def user_list(*, search: str = ""):
    qs = User.objects.prefetch_related("groups").order_by("username")
    if search:
        qs = qs.filter(username__icontains=search) | qs.filter(email__icontains=search)
    return qs


@dataclass(frozen=True)
class SigninLockout:
    kind: str  # "username" or "ip_address"
    value: str
    failures: int
    last_attempt: datetime
    until: datetime


def signin_lockouts() -> list[SigninLockout]:
    """Accounts and client addresses whose recent sign-in failures reached the limit
    (django-axes' attempts, counted as axes counts them: per account and per address)."""
    cool_off = settings.AXES_COOLOFF_TIME
    recent = AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - cool_off)
    found = []
    for kind in ("username", "ip_address"):
        rows = (recent.exclude(**{f"{kind}__isnull": True}).values(kind)
                .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
                .filter(failures__gte=settings.AXES_FAILURE_LIMIT).order_by("-last"))
        found += [SigninLockout(kind=kind, value=row[kind], failures=row["failures"],
                                last_attempt=row["last"], until=row["last"] + cool_off)
                  for row in rows]
    return found
