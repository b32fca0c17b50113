"""Issue #20, done when: two Liudong deployments (two databases, two servers on loopback, each
with its own worker) move a member from one to the other by electronic transfer, with the
receiving deployment down during the first attempt; the member exists once on each side in
the right state, and a message delivered twice is acted on once. Then a certificate travels:
A issues one naming B's branch as the inflow side, B registers the arrival and the departure,
and A's certificate shows both."""

import os
import urllib.parse

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import port_open, require_service
from tests.deployments import Deployment, wait_until

pytestmark = pytest.mark.services

SIDE_A = """
from datetime import date
from django.contrib.auth.models import User
from members.models import Member, Organisation, StaffAssignment
county = Organisation.add_root(name="甲县委组织部", kind="county", code="A0")
town = county.add_child(name="甲镇党委", kind="committee")
branch = town.add_child(name="甲村党支部", kind="branch", code="A1", region="甲省甲县")
for username, organisation, role in [("sec-a", branch, "secretary"), ("rev-a", town, "reviewer")]:
    user = User.objects.create_user(username, password="x-long-password-1")
    StaffAssignment.objects.create(user=user, organisation=organisation, role=role)
Member.objects.create(
    name="张三", gender="M", birth_date=date(1985, 3, 14), national_id="{national_id}",
    phone="13800138000", joined_on=date(2010, 7, 1), confirmed_on=date(2011, 7, 1),
    home_branch=branch,
)
"""

SIDE_B = """
from django.contrib.auth.models import User
from members.models import Organisation, StaffAssignment
county = Organisation.add_root(name="乙县委组织部", kind="county", code="B0")
town = county.add_child(name="乙镇党委", kind="committee")
town.add_child(name="丙村党支部", kind="branch", code="B2")
branch = town.add_child(name="乙村党支部", kind="branch", code="B1")
user = User.objects.create_user("sec-b", password="x-long-password-1")
StaffAssignment.objects.create(user=user, organisation=branch, role="secretary")
"""

TRANSFER_ON_A = """
from django.contrib.auth.models import User
from django.utils import timezone
from members.models import ExternalOrganisation, Member
from transfers import services
member = Member.objects.get(name="张三")
transfer = services.transfer_request(
    actor=User.objects.get(username="sec-a"), member=member, reason="工作调动",
    to_external=ExternalOrganisation.objects.get(name="乙村党支部"),
)
services.transfer_approve(
    actor=User.objects.get(username="rev-a"), transfer=transfer,
    issued_on=timezone.localdate(), valid_days=30, dues_paid_until=timezone.localdate(),
)
"""

ACCEPT_ON_B = """
from django.contrib.auth.models import User
from django.utils import timezone
from partners import services
from partners.models import IncomingTransfer
services.incoming_accept(
    actor=User.objects.get(username="sec-b"), incoming=IncomingTransfer.objects.get(),
    on=timezone.localdate(),
)
"""

# A message delivered again, exactly as before (its id unchanged): a lost answer, say.
SEND_AGAIN = """
from django.core.management import call_command
from partners.models import OutgoingMessage
OutgoingMessage.objects.filter(kind="{kind}").update(status="queued")
call_command("partner_outbox", "--send-now")
"""

# Each `manage.py` costs seconds of start-up: the registrations run as the same commands,
# called from one shell per side.
REGISTER = """
from django.core.management import call_command
call_command(
    "partner_add", "{name}", "{url}", "--our-key", "side-{us}", "--their-key", "side-{them}",
    "--send-secret", "{us}-to-{them}-secret", "--receive-secret", "{them}-to-{us}-secret",
)
"""
LINK = """
call_command("partner_link", "乙县", "B1", "乙村党支部", "乙省乙县")
"""


CERTIFICATE_ON_A = """
from datetime import date
from django.contrib.auth.models import User
from django.utils import timezone
from members.models import ExternalOrganisation, Member, Organisation
from transfers import services
member = Member.objects.create(
    name="李四", gender="F", birth_date=date(1990, 5, 6), national_id="{national_id}",
    joined_on=date(2015, 7, 1), confirmed_on=date(2016, 7, 1),
    home_branch=Organisation.objects.get(code="A1"),
)
services.certificate_issue(
    actor=User.objects.get(username="sec-a"), member=member, issued_on=timezone.localdate(),
    reason="务工", destination="乙省乙县",
    inflow_external=ExternalOrganisation.objects.get(name="乙村党支部"),
)
"""

ARRIVAL_AND_DEPARTURE_ON_B = """
from django.contrib.auth.models import User
from django.utils import timezone
from partners import services
from partners.models import IncomingCertificate
secretary, today = User.objects.get(username="sec-b"), timezone.localdate()
incoming = services.incoming_certificate_arrival(
    actor=secretary, incoming=IncomingCertificate.objects.get(), arrived_on=today,
    inflow_contact="赵六 13700137000",
)
services.incoming_certificate_departure(
    actor=secretary, incoming=incoming, departed_on=today, participation="参加主题党日1次",
    dues="已缴至本月",
)
"""


def _require_services() -> None:
    redis = urllib.parse.urlsplit(settings.REDIS_URL) if settings.REDIS_URL else None
    require_service(
        "Redis", bool(redis) and port_open(redis.hostname, redis.port or 6379), "set REDIS_URL"
    )
    require_service(
        "PostgreSQL", connection.vendor == "postgresql", "each deployment needs a database"
    )


@pytest.fixture
def two_deployments(tmp_path):
    _require_services()
    base = int(os.environ.get("TWO_DEPLOYMENTS_REDIS_DB", "14"))
    a = Deployment("a", redis_db=base, tmp_path=tmp_path)
    b = Deployment("b", redis_db=base + 1, tmp_path=tmp_path)
    created = []
    try:
        a.create_database()
        created.append(a)
        a.manage("migrate", "--noinput")
        b.create_database(like=a)  # the same migrated schema, copied: faster than migrating
        created.append(b)
        yield a, b
    finally:
        for side in (a, b):
            side.stop_all()
        for side in created:
            side.drop_database()


def _outbox(side: Deployment, kind: str) -> tuple[str, int, str]:
    rows = side.sql(
        "SELECT status, attempts, last_error FROM partners_outgoingmessage WHERE kind = %s",
        (kind,),
    )
    assert len(rows) == 1, rows
    return rows[0]


def _count(side: Deployment, query: str, params: tuple = ()) -> int:
    return side.sql(query, params)[0][0]


def test_a_member_moves_and_a_certificate_travels_between_two_deployments(two_deployments):
    a, b = two_deployments
    national_id = "11010119850314123" + _check("11010119850314123")
    a.shell(
        SIDE_A.replace("{national_id}", national_id)
        + REGISTER.format(name="乙县", url=b.url, us="a", them="b")
        + LINK
    )
    b.shell(SIDE_B + REGISTER.format(name="甲县", url=a.url, us="b", them="a"))
    a.start_server()
    a.start_worker()
    b.start_worker()

    # B is down: approving on A queues the letter, and the first attempt fails.
    a.shell(TRANSFER_ON_A)
    wait_until(lambda: _outbox(a, "letter")[1] >= 1, "A's first attempt", a.logs / "worker.log")
    status, _attempts, error = _outbox(a, "letter")
    assert status == "queued" and "unreachable" in error
    assert (
        _count(a, "SELECT count(*) FROM transfers_relationshiptransfer WHERE state = 'approved'")
        == 1
    )

    # B is back; A's sweep sends what waits (the beat's task, asked for now).
    b.start_server()
    a.manage("partner_outbox", "--send-now")
    wait_until(
        lambda: _outbox(a, "letter")[0] == "sent", "the letter delivered", a.logs / "worker.log"
    )
    assert _count(b, "SELECT count(*) FROM partners_incomingtransfer WHERE state = 'pending'") == 1

    # Delivered again with the same id: B answers "duplicate" and keeps one letter.
    a.shell(SEND_AGAIN.replace("{kind}", "letter"))
    wait_until(lambda: _outbox(a, "letter")[0] == "sent", "the letter again", a.logs / "worker.log")
    assert _count(b, "SELECT count(*) FROM partners_incomingtransfer") == 1
    assert _count(b, "SELECT count(*) FROM partners_incomingmessage") == 1

    # B's secretary accepts: the member is registered there, and the receipt goes back.
    b.shell(ACCEPT_ON_B)
    wait_until(
        lambda: (
            _count(
                a, "SELECT count(*) FROM transfers_relationshiptransfer WHERE state = 'completed'"
            )
            == 1
        ),
        "the transfer completed on A",
        b.logs / "worker.log",
    )
    # A answered after its commit; B marks its row on the answer.
    wait_until(lambda: _outbox(b, "receipt")[0] == "sent", "the receipt", b.logs / "worker.log")

    # The receipt again: A acts on it once.
    b.shell(SEND_AGAIN.replace("{kind}", "receipt"))
    wait_until(
        lambda: _outbox(b, "receipt")[0] == "sent", "the receipt again", b.logs / "worker.log"
    )
    assert _count(a, "SELECT count(*) FROM partners_incomingmessage WHERE kind = 'receipt'") == 1
    assert (
        _count(a, "SELECT count(*) FROM transfers_transferevent WHERE action = 'receipt_returned'")
        == 1
    )

    on_a = a.sql("SELECT status FROM members_member WHERE name = '张三'")
    on_b = b.sql(
        "SELECT m.status, o.code FROM members_member m "
        "JOIN members_organisation o ON o.id = m.home_branch_id WHERE m.name = '张三'"
    )
    assert on_a == [("transferred_out",)]
    assert on_b == [("active", "B1")]
    assert (
        _count(
            b, "SELECT count(*) FROM transfers_relationshiptransfer WHERE direction = 'incoming'"
        )
        == 1
    )

    # One pair of deployments for both (each start costs about half a minute).
    _certificate_round_trip(a, b)


def _certificate_round_trip(a: Deployment, b: Deployment) -> None:
    national_id = "11010119900506222" + _check("11010119900506222")
    a.shell(CERTIFICATE_ON_A.replace("{national_id}", national_id))
    wait_until(
        lambda: _count(b, "SELECT count(*) FROM partners_incomingcertificate") == 1,
        "the certificate at B",
        a.logs / "worker.log",
    )
    number, verify_code = a.sql("SELECT number, verify_code FROM transfers_activitycertificate")[0]
    assert b.sql("SELECT number, verify_code, name, state FROM partners_incomingcertificate") == [
        (number, verify_code, "李四", "issued")
    ]

    b.shell(ARRIVAL_AND_DEPARTURE_ON_B)
    wait_until(
        lambda: (
            _outbox(b, "certificate_departure")[0] == "sent"
            and _outbox(b, "certificate_arrival")[0] == "sent"
        ),
        "the arrival and the departure delivered",
        b.logs / "worker.log",
    )
    (written,) = a.sql(
        "SELECT arrived_on IS NOT NULL, inflow_contact, departed_on IS NOT NULL, "
        "departure_participation, departure_dues FROM transfers_activitycertificate"
    )
    assert written == (True, "赵六 13700137000", True, "参加主题党日1次", "已缴至本月")
    assert b.sql("SELECT state FROM partners_incomingcertificate") == [("departed",)]


def _check(first17: str) -> str:
    from members.national_id import check_char

    return check_char(first17)
