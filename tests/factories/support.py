from datetime import UTC, datetime

import factory
from factory.django import DjangoModelFactory

from accounts.models import Department
from support.models import Category, Message, MessageKind, SupportDepartment, Ticket

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class SupportDepartmentFactory(DjangoModelFactory):
    class Meta:
        model = SupportDepartment
        django_get_or_create = ("slug",)

    name = "Technical support"
    slug = "technical"
    reopen_days = 7

    @factory.post_generation
    def staff_departments(obj, create, extracted, **kwargs):
        # Worked by "Technical support" unless a test names other staff departments.
        if not create:
            return
        names = ["Technical support"] if extracted is None else extracted
        obj.staff_departments.add(*[Department.objects.get_or_create(name=name)[0]
                                    for name in names])


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    department = factory.SubFactory(SupportDepartmentFactory)


class TicketFactory(DjangoModelFactory):
    class Meta:
        model = Ticket

    client = factory.SubFactory("tests.factories.accounts.ClientFactory")
    provider = factory.SelfAttribute("client.provider")
    number = factory.Sequence(lambda n: 100000 + n)
    department = factory.SubFactory(SupportDepartmentFactory)
    subject = factory.Sequence(lambda n: f"Question {n}")
    created_at = WHEN
    updated_at = WHEN


class MessageFactory(DjangoModelFactory):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory)
    kind = MessageKind.CLIENT
    body_text = "Hello"
    created_at = WHEN


# E-mail in by IMAP (issue 14, gateways)
class MailGatewayFactory(DjangoModelFactory):
    class Meta:
        model = "support.MailGateway"

    department = factory.SubFactory(SupportDepartmentFactory)
    host = "127.0.0.1"
    port = 143
    security = "none"
    username = "support"
    password = "mailbox-secret"
    folder = factory.Sequence(lambda n: f"folder{n}")


# Announcements ---------------------------------------------------------------------------
class AnnouncementFactory(DjangoModelFactory):
    """Shown to all clients of every provider from WHEN, open-ended, blocking nothing."""

    class Meta:
        model = "support.Announcement"
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Announcement {n}")
    body = "Something to know."
    starts_at = WHEN

    @factory.post_generation
    def audience_services(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.audience_services.set(extracted)

    @factory.post_generation
    def audience_groups(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.audience_groups.set(extracted)

    @factory.post_generation
    def blocks_services(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.blocks_services.set(extracted)
