from django.contrib.auth import get_user_model

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
