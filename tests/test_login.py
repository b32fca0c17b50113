from datetime import timedelta

from axes.models import AccessAttempt
from django.urls import reverse


def login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_correct_password_logs_in(client, county):
    county.secretary(county.branch_a, "sec")
    response = login(client, "sec", "correct-horse-battery")
    assert response.status_code == 302
    assert response.url == reverse("home")


def test_wrong_password_is_refused_in_chinese(client, county):
    county.secretary(county.branch_a, "sec")
    response = login(client, "sec", "wrong")
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()


def test_repeated_failures_lock_out_even_the_right_password(client, county, settings):
    county.secretary(county.branch_a, "sec")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "sec", "wrong")
    response = login(client, "sec", "correct-horse-battery")
    assert response.status_code == 429
    body = response.content.decode()
    assert "登录失败次数过多" in body
    assert "15" in body
    assert "_auth_user_id" not in client.session


def test_lockout_ends_after_the_cool_off(client, county, settings):
    county.secretary(county.branch_a, "sec")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "sec", "wrong")
    assert login(client, "sec", "correct-horse-battery").status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time
        - settings.AXES_COOLOFF_TIME
        - timedelta(seconds=1)
    )
    response = login(client, "sec", "correct-horse-battery")
    assert response.status_code == 302


def test_other_users_are_not_locked_out(client, county, settings):
    county.secretary(county.branch_a, "sec")
    county.secretary(county.branch_b, "other")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "sec", "wrong")
    assert login(client, "other", "correct-horse-battery").status_code == 302


def test_login_page_is_chinese_by_default_and_switches_to_english(client, db):
    assert "登录" in client.get(reverse("login")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert "Log in" in client.get(reverse("login")).content.decode()


def test_password_change(client, county):
    user = county.secretary(county.branch_a, "sec")
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "correct-horse-battery",
            "new_password1": "another-long-passphrase-9",
            "new_password2": "another-long-passphrase-9",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-long-passphrase-9")


def test_logout_needs_post_and_ends_the_session(client, county):
    client.force_login(county.secretary(county.branch_a, "sec"))
    client.post(reverse("logout"))
    assert client.get(reverse("members:list")).status_code == 302


def test_an_english_browser_still_gets_chinese_until_it_switches(client, db):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "登录" in page.content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert "Log in" in client.get(reverse("login")).content.decode()
