import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from apps.accounts.services import first_admin_ensure


class Command(BaseCommand):
    help = "Create the first admin if there is none (WEFT_ADMIN_EMAIL / WEFT_ADMIN_PASSWORD)."

    def handle(self, *args, **options):
        existed = get_user_model().objects.filter(groups__name="admin", is_active=True).exists()
        user, generated = first_admin_ensure()
        # Where `make run` serves (config/launch.py reads the same variables and prints
        # this with its ready line).
        site = (f"http://{os.environ.get('WEFT_HOST', '127.0.0.1')}:"
                f"{os.environ.get('WEFT_PORT', '8000')}")
        if not existed and not generated:
            self.stdout.write(self.style.SUCCESS(
                f"  First admin created: {user.username} ({user.email}). Sign in at "
                f"{site}/login/ with the password from WEFT_ADMIN_PASSWORD."))
        elif generated:
            self.stdout.write(self.style.SUCCESS(
                f"\n  First admin created. Sign in at {site}/login/ with\n"
                f"    username: {user.username}   (or {user.email})\n"
                f"    password: {generated}\n"
                "  This password is shown only once.\n"))
        else:
            self.stdout.write(f"  Sign in at {site}/login/ (admin account: {user.username}).")
