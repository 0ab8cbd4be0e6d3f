from django.core.management.base import BaseCommand

from apps.credentials.services import credential_rotate_all


class Command(BaseCommand):
    help = ("Re-encrypt every stored credential with the newest key (the first in "
            "WEFT_CREDENTIALS_KEY). Then older keys may be removed from the setting.")

    def handle(self, *args, **options):
        count = credential_rotate_all()
        self.stdout.write(f"Re-encrypted {count} credential(s) with the newest key.")
