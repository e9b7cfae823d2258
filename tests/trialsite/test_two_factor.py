"""The second factor: staff, superusers and data managers pass a code from an authenticator app
after their password, on every page and in admin; anyone who set one up does too."""

import re
import time
from base64 import b32decode
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import TEST_PASSWORD, UserFactory
from tests.two_factor import code_at, next_code
from trialsite.two_factor.policy import second_factor_required

VERIFY = reverse("two_factor_verify")
SETUP = reverse("two_factor_setup")
WRONG_CODE = "This code is wrong or has expired."
SECRET_KEY = re.compile(r'id="secret-key">([A-Z2-7 ]+)<')


@pytest.fixture
def client():
    """Django's own test client: force_login passes the password only (not tests/two_factor.py's
    SecondFactorClient)."""
    return Client()


@pytest.fixture
def data_manager(db) -> User:
    return UserFactory(username="dm", role="Data manager")


@pytest.fixture
def phone(data_manager) -> TOTPDevice:
    """The data manager's authenticator app, set up."""
    return TOTPDevice.objects.create(user=data_manager, name="Phone", confirmed=True)


def wrong_code(device: TOTPDevice) -> str:
    """Return a code that the device accepts at no time near now."""
    accepted = {code_at(device, time.time(), steps_ahead=ahead) for ahead in range(-3, 4)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in accepted)


def verified_device_id(client: Client) -> str | None:
    return client.session.get(DEVICE_ID_SESSION_KEY)


# --- who must -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "flags", "required"),
    [
        (None, {}, False),
        ("Coordinator", {}, False),
        ("Investigator", {}, False),
        ("Monitor", {}, False),
        ("Data manager", {}, True),
        (None, {"is_staff": True}, True),
        (None, {"is_superuser": True}, True),
    ],
    ids=["no-role", "coordinator", "investigator", "monitor", "data-manager", "staff", "superuser"],
)
def test_staff_superusers_and_data_managers_must_have_a_second_factor(db, role, flags, required):
    user = UserFactory(role=role, **flags)
    assert second_factor_required(user) is required


# --- the code page --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/", "/participants/", "/reports/", "/admin/", "/admin/auth/user/", "/accounts/security/"],
)
def test_a_user_with_an_app_is_asked_for_its_code_before_any_page(client, phone, url):
    client.force_login(phone.user)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{VERIFY}?next={url}"


def test_after_the_password_the_login_page_leads_to_the_code_page(client, phone):
    response = client.post(
        reverse("login"), {"username": "dm", "password": TEST_PASSWORD}, follow=True
    )
    assert response.redirect_chain == [("/", 302), (f"{VERIFY}?next=/", 302)]
    assert "Enter your code" in response.content.decode()
    assert verified_device_id(client) is None


def test_the_right_code_opens_the_page_asked_for_and_every_other(client, phone):
    client.force_login(phone.user)
    response = client.post(VERIFY, {"code": next_code(phone), "next": "/participants/"})
    assert response.status_code == 302
    assert response.url == "/participants/"
    assert verified_device_id(client) == phone.persistent_id
    assert client.get("/").status_code == 200
    phone.refresh_from_db()
    assert phone.last_used_at is not None


def test_the_code_may_be_typed_in_two_groups_of_three(client, phone):
    client.force_login(phone.user)
    code = next_code(phone)
    response = client.post(VERIFY, {"code": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 302
    assert response.url == "/"


def test_a_data_manager_with_the_code_passed_opens_admin_if_staff(client, phone):
    phone.user.is_staff = True
    phone.user.save()
    client.force_login(phone.user)
    client.post(VERIFY, {"code": next_code(phone)})
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_is_refused_with_a_message_on_the_form(client, phone):
    client.force_login(phone.user)
    response = client.post(VERIFY, {"code": wrong_code(phone)})
    assert response.status_code == 200
    assert WRONG_CODE in response.content.decode()
    assert verified_device_id(client) is None
    assert client.get("/").status_code == 302
    phone.refresh_from_db()
    assert phone.throttling_failure_count == 1


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "This field is required."),
        ("12345", "Enter the 6 digits that your authenticator app shows."),
        ("12345a", "Enter the 6 digits that your authenticator app shows."),
        ("١٢٣٤٥٦", "Enter the 6 digits that your authenticator app shows."),  # Arabic-Indic
    ],
    ids=["empty", "five-digits", "letter", "non-ascii-digits"],
)
def test_a_code_that_is_not_six_digits_is_refused_without_counting_as_wrong(
    client, phone, typed, message
):
    client.force_login(phone.user)
    response = client.post(VERIFY, {"code": typed})
    assert message in response.content.decode()
    phone.refresh_from_db()
    assert phone.throttling_failure_count == 0


def test_after_a_wrong_code_even_the_right_one_waits_a_while(client, phone):
    client.force_login(phone.user)
    client.post(VERIFY, {"code": wrong_code(phone)})
    client.post(VERIFY, {"code": wrong_code(phone)})  # refused unchecked: still 1 wrong
    response = client.post(VERIFY, {"code": next_code(phone)})
    assert "Too many wrong codes: wait 1 second" in response.content.decode()
    assert verified_device_id(client) is None

    # Once the lock (1 s after one wrong code) has passed, the right code is accepted.
    TOTPDevice.objects.filter(pk=phone.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=2)
    )
    response = client.post(VERIFY, {"code": next_code(phone)})
    assert response.status_code == 302
    phone.refresh_from_db()
    assert phone.throttling_failure_count == 0


def test_each_wrong_code_doubles_the_wait(client, phone):
    client.force_login(phone.user)
    for wrong in range(1, 4):
        TOTPDevice.objects.filter(pk=phone.pk).update(throttling_failure_timestamp=None)
        client.post(VERIFY, {"code": wrong_code(phone)})
        phone.refresh_from_db()
        assert phone.throttling_failure_count == wrong
    response = client.post(VERIFY, {"code": next_code(phone)})
    assert "wait 4 seconds" in response.content.decode()


def test_a_code_is_accepted_once(client, phone):
    code = next_code(phone)
    client.force_login(phone.user)
    assert client.post(VERIFY, {"code": code}).status_code == 302
    other = Client()
    other.force_login(phone.user)
    response = other.post(VERIFY, {"code": code})
    assert WRONG_CODE in response.content.decode()


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.org/",
        "//evil.example.org/",
        "http://testserver/participants/",  # this site, but over plain HTTP from HTTPS
        "javascript:alert(1)",
    ],
)
def test_next_never_leads_off_the_site(client, phone, target):
    client.force_login(phone.user)
    response = client.post(VERIFY, {"code": next_code(phone), "next": target}, secure=True)
    assert response.status_code == 302
    assert response.url == "/"


def test_the_code_page_keeps_next_only_when_it_is_a_page_of_this_site(client, phone):
    client.force_login(phone.user)
    page = client.get(VERIFY, {"next": "/reports/"}).content.decode()
    assert 'name="next" value="/reports/"' in page
    page = client.get(VERIFY, {"next": "https://evil.example.org/"}).content.decode()
    assert '<input type="hidden" name="next" value="">' in page


def test_logout_and_the_language_menu_work_before_the_code(client, phone):
    client.force_login(phone.user)
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": VERIFY})
    assert response.status_code == 302
    assert response.url == VERIFY
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert "_auth_user_id" not in client.session


def test_the_code_page_shows_no_menu_of_the_site(client, phone):
    client.force_login(phone.user)
    page = client.get(VERIFY).content.decode()
    assert reverse("participant_list") not in page
    assert reverse("logout") in page


@pytest.mark.parametrize("name", ["two_factor_verify", "two_factor_setup", "account_security"])
def test_the_second_factor_pages_send_anonymous_users_to_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_code_page_passes_a_verified_user_on(client, phone):
    client.force_login(phone.user)
    client.post(VERIFY, {"code": next_code(phone)})
    response = client.get(VERIFY, {"next": "/reports/"})
    assert response.status_code == 302
    assert response.url == "/reports/"


def test_an_administrator_deleting_the_device_makes_the_user_set_up_a_new_one(client, phone):
    client.force_login(phone.user)
    client.post(VERIFY, {"code": next_code(phone)})
    phone.delete()  # the administrator's reset, in Django admin
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == f"{SETUP}?next=/"


# --- users who may choose ---------------------------------------------------------------


def test_a_coordinator_without_an_app_is_not_asked(client, coordinator_a):
    client.force_login(coordinator_a)
    assert client.get("/").status_code == 200
    response = client.get(VERIFY)
    assert response.status_code == 302
    assert response.url == "/"
    page = client.get(reverse("account_security")).content.decode()
    assert "No second factor is set up" in page
    assert "optional for your role" in page


def test_a_coordinator_who_set_up_an_app_is_asked_for_its_code(client, coordinator_a):
    TOTPDevice.objects.create(user=coordinator_a, name="Phone", confirmed=True)
    client.force_login(coordinator_a)
    response = client.get("/participants/")
    assert response.status_code == 302
    assert response.url == f"{VERIFY}?next=/participants/"


def test_a_device_still_being_set_up_is_not_asked_for(client, coordinator_a):
    TOTPDevice.objects.create(user=coordinator_a, name="Phone", confirmed=False)
    client.force_login(coordinator_a)
    assert client.get("/").status_code == 200


# --- setting up -------------------------------------------------------------------------


def setup_key(client: Client, **params) -> bytes:
    """Open the set-up page and return the key it shows."""
    response = client.get(SETUP, params)
    assert response.status_code == 200
    return b32decode(SECRET_KEY.findall(response.content.decode())[0].replace(" ", ""))


@pytest.mark.parametrize("url", ["/", "/participants/", "/admin/", VERIFY])
def test_a_user_who_must_and_has_no_app_is_sent_to_set_one_up(client, data_manager, url):
    client.force_login(data_manager)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{SETUP}?next={url}"


def test_a_superuser_who_is_not_staff_is_sent_to_set_one_up_too(client, db):
    client.force_login(UserFactory(username="root", is_superuser=True))
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == f"{SETUP}?next=/"


def test_the_set_up_page_shows_the_key_as_inline_svg_qr_code_and_as_text(client, data_manager):
    client.force_login(data_manager)
    page = client.get(SETUP).content.decode()
    device = TOTPDevice.objects.get(user=data_manager)
    assert not device.confirmed
    assert re.search(r'<svg viewBox="0 0 \d+ \d+" class="two-factor-qr"><title>', page)
    assert "<script" not in page.split("<main", 1)[1].split("</main>", 1)[0]
    key = b32decode(SECRET_KEY.findall(page)[0].replace(" ", ""))
    assert key == device.bin_key
    # The same key each time the page is opened, until it is confirmed.
    assert setup_key(client) == key
    assert TOTPDevice.objects.filter(user=data_manager).count() == 1


def test_set_up_confirms_the_device_only_with_a_right_code(client, data_manager):
    client.force_login(data_manager)
    key = setup_key(client, next="/reports/")
    device = TOTPDevice.objects.get(user=data_manager)

    response = client.post(SETUP, {"code": wrong_code(device), "next": "/reports/"})
    assert response.status_code == 200
    assert WRONG_CODE in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get("/").status_code == 302

    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    code = f"{TOTP(key).token():06d}"
    response = client.post(SETUP, {"code": code, "next": "/reports/"})
    assert response.status_code == 302
    assert response.url == "/reports/"
    device.refresh_from_db()
    assert device.confirmed
    assert verified_device_id(client) == device.persistent_id
    assert client.get("/").status_code == 200


def test_set_up_is_refused_to_a_user_who_has_an_app_and_has_not_passed_it(client, phone):
    client.force_login(phone.user)
    response = client.get(SETUP)
    assert response.status_code == 302
    assert response.url == f"{VERIFY}?next={SETUP}"
    response = client.post(SETUP, {"code": next_code(phone)})
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=phone.user).count() == 1


def test_a_new_phone_replaces_the_old_one_once_confirmed(client, phone):
    client.force_login(phone.user)
    client.post(VERIFY, {"code": next_code(phone)})
    key = setup_key(client)
    assert TOTPDevice.objects.filter(user=phone.user).count() == 2

    response = client.post(SETUP, {"code": f"{TOTP(key).token():06d}"})
    assert response.status_code == 302
    (new_phone,) = TOTPDevice.objects.filter(user=phone.user)
    assert new_phone.pk != phone.pk
    assert new_phone.confirmed
    assert client.get("/").status_code == 200  # still passed, with the new phone


def test_a_coordinator_may_set_up_an_app_from_the_account_page(client, coordinator_a):
    client.force_login(coordinator_a)
    page = client.get(reverse("account_security")).content.decode()
    assert f"{SETUP}?next=/accounts/security/" in page
    key = setup_key(client)
    response = client.post(
        SETUP, {"code": f"{TOTP(key).token():06d}", "next": "/accounts/security/"}
    )
    assert response.url == "/accounts/security/"
    page = client.get(reverse("account_security")).content.decode()
    assert "An authenticator app is set up" in page


# --- admin -------------------------------------------------------------------------------


def test_admin_lists_devices_but_neither_adds_them_nor_shows_their_keys(client, phone):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    root_phone = TOTPDevice.objects.create(user=root, name="Phone", confirmed=True)
    client.force_login(root)
    client.post(VERIFY, {"code": next_code(root_phone)})

    listing = client.get(reverse("admin:otp_totp_totpdevice_changelist"), {"q": "dm"})
    assert listing.status_code == 200
    assert "dm" in listing.content.decode()
    assert client.get(reverse("admin:otp_totp_totpdevice_add")).status_code == 403
    page = client.get(reverse("admin:otp_totp_totpdevice_change", args=[phone.pk]))
    assert page.status_code == 200
    assert phone.key not in page.content.decode()

    response = client.post(
        reverse("admin:otp_totp_totpdevice_delete", args=[phone.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=phone.pk).exists()


def test_the_qr_code_names_the_site_and_the_user_for_the_app(data_manager):
    device = TOTPDevice.objects.create(user=data_manager, name="Phone", confirmed=False)
    url = device.config_url
    assert url.startswith("otpauth://totp/SLE%20CAR-T%20trial%3Adm?secret=")
    assert url.endswith("&issuer=SLE%20CAR-T%20trial")


def test_a_data_manager_right_given_directly_still_needs_a_second_factor(db):
    # The rule follows the rights, not the role's name: renaming the role or granting a right
    # to one user does not drop the second factor.
    user = UserFactory(username="lock_only")
    assert not second_factor_required(user)
    user.user_permissions.add(Permission.objects.get(codename="lock_visit"))
    assert second_factor_required(User.objects.get(pk=user.pk))
