"""manage.py audit_verify: walk the audit chain; exit 1 naming the first event
that does not match (a gap, a content hash, or a broken link)."""

from django.core.management.base import BaseCommand, CommandError

from apps.audit.verification import chain_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exits non-zero at the first mismatch."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=20_000)
        parser.add_argument("--record", action="store_true",
                            help="also record the outcome as an audit.verify event")

    def handle(self, *args, batch_size: int, record: bool, **options):
        if record:
            from apps.audit.actors import Actor
            from apps.audit.services import audit_chain_verify_and_record

            result, _ = audit_chain_verify_and_record(actor=Actor.system("audit_verify"))
        else:
            result = chain_verify(batch_size=batch_size)
        if not result.ok:
            raise CommandError(result.summary(), returncode=1)
        self.stdout.write(self.style.SUCCESS(result.summary()))
