from django.contrib.auth.models import Group, Permission
from django.db import transaction

from accounts.models import User
from accounts.roles import ROLES


@transaction.atomic
def roles_sync() -> None:
    """Make each role's group hold exactly the permissions of the matrix (idempotent)."""
    permissions = {p.codename: p for p in Permission.objects.filter(content_type__app_label="accounts")}
    for role, capabilities in ROLES.items():
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set([permissions[c] for c in capabilities if c in permissions])


@transaction.atomic
def user_set_language(*, user: User, language: str) -> None:
    if language not in User.Language.values:
        raise ValueError(language)
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


@transaction.atomic
def user_create(
    *, username: str, password: str, roles: list[str], display_name: str = "", is_service_user: bool = False
) -> User:
    user = User.objects.create_user(
        username=username, password=password, display_name=display_name, is_service_user=is_service_user
    )
    user.groups.set(Group.objects.filter(name__in=roles))
    return user
