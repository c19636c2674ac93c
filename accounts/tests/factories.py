"""Test data for accounts (factory_boy): staff users with roles and branches, and API tokens.

Users are made by the real service (accounts.services.user_create), so each role is its group and
the password is hashed as at sign-in; every user's password is PASSWORD.

    UserFactory(username="clerk_gz", roles=["clerk"], branches=["GD-GZ"])
    TokenFactory(user=integration).key
"""

import factory
from factory.django import DjangoModelFactory
from rest_framework.authtoken.models import Token

from accounts.models import User
from accounts.services import user_create, user_set_language

PASSWORD = "Test-Password-2026!"

# surname x given name: 400 different names before one repeats
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何高林罗"
GIVEN_NAMES = (
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
)


def chinese_name(n: int) -> str:
    """The n-th of 400 common Chinese names (王伟, 李伟, ... 王芳, ...)."""
    return SURNAMES[n % len(SURNAMES)] + GIVEN_NAMES[(n // len(SURNAMES)) % len(GIVEN_NAMES)]


class UserFactory(DjangoModelFactory):
    """A staff user. `roles`: role (group) names of accounts.roles.ROLES; `branches`: branch codes
    or Branch objects the user works for (none unless given); `language` other than zh-hans is
    saved through user_set_language; is_staff, is_superuser and is_active are set as given."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n:04d}")
    display_name = factory.Sequence(chinese_name)
    password = PASSWORD
    roles: tuple[str, ...] = ()
    # as the demo's users: the core system's integration account is a service user
    is_service_user = factory.LazyAttribute(lambda o: "integration" in o.roles)
    language = User.Language.ZH_HANS

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        language = kwargs.pop("language")
        # Django's own flags (is_staff for the admin site), set after the service made the user
        flags = {k: kwargs.pop(k) for k in ("is_staff", "is_superuser", "is_active") if k in kwargs}
        unknown = set(kwargs) - {"username", "display_name", "password", "roles", "is_service_user"}
        if unknown:
            raise TypeError(f"UserFactory sets no {sorted(unknown)}: change them with the services")
        user = user_create(
            username=kwargs["username"],
            password=kwargs["password"],
            roles=list(kwargs["roles"]),
            display_name=kwargs["display_name"],
            is_service_user=kwargs["is_service_user"],
        )
        if language != user.language:
            user_set_language(user=user, language=language)
        if flags:
            for name, value in flags.items():
                setattr(user, name, value)
            user.save(update_fields=list(flags))
        return user

    @factory.post_generation
    def branches(obj, create, extracted, **kwargs):
        if not create or not extracted:
            return
        from policies.tests.factories import branches_named  # a test may reach to the right (tests/test_architecture.py)

        obj.branches.set(branches_named(extracted))


class TokenFactory(DjangoModelFactory):
    """The DRF token an API client signs in with: Client(headers={"Authorization": f"Token {key}"})."""

    class Meta:
        model = Token

    user = factory.SubFactory(UserFactory, roles=("integration",))
