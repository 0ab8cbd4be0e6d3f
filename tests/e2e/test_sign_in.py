import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_in_shows_home_with_the_users_roles(signed_in_page, screenshot, live_web):
    page, user = signed_in_page(roles=["editor", "reviewer"])
    assert page.get_by_role("heading", name=f"Welcome, {user.username}").is_visible()
    assert page.get_by_text("Your roles:").inner_text().endswith("editor, reviewer, viewer")
    nav = page.get_by_role("navigation")
    assert nav.get_by_role("link", name="API", exact=True).is_visible()
    # the console is for admins only; others reach their settings (tokens, variables...)
    assert nav.get_by_role("link", name="Console", exact=True).count() == 0
    assert nav.get_by_role("link", name="Settings", exact=True).is_visible()
    screenshot("home")


def test_wrong_password_stays_on_login_with_an_error(page, live_web, create_user, screenshot):
    user = create_user(roles=["viewer"])
    page.goto(f"{live_web.url}/login/")
    page.get_by_label("Username or e-mail").fill(user.username)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That username or password")
    screenshot("login-error")


def test_repeated_failures_lock_the_account_with_a_clear_message(page, live_web, create_user,
                                                                 screenshot):
    from django.conf import settings

    from tests.fixtures.accounts import PASSWORD

    user = create_user(roles=["viewer"])
    page.goto(f"{live_web.url}/login/")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Username or e-mail").fill(user.username)
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
    # now even the right password is refused, with the time to wait
    page.get_by_label("Username or e-mail").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_response(f"{live_web.url}/login/") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 429
    alert = page.get_by_role("alert")
    assert alert.inner_text() == "Too many sign-in attempts; try again in 15 minutes."
    assert page.url.startswith(f"{live_web.url}/login/")
    screenshot("locked-out")
