"""Issue #17: the admin index is in Chinese, the sign-in libraries' names too."""

from django.urls import reverse


def test_the_admin_index_speaks_chinese(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw-12345678")
    client.force_login(admin)
    page = client.get(reverse("admin:index")).content.decode()
    for chinese in ("登录保护", "两步登录", "身份验证器", "登录尝试", "党组织与党员", "预警提醒"):
        assert chinese in page, chinese
    for english in ("Axes", "OTP_TOTP", "TOTP devices", "Access attempts"):
        assert english not in page, english
