"""Write docs/nodes.md from the node-type registry; --check only reports staleness."""

from django.core.management.base import BaseCommand, CommandError

from apps.nodes.reference import REFERENCE_PATH, node_reference_markdown


class Command(BaseCommand):
    help = "Write the node reference (docs/nodes.md) from the node-type registry."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true",
                            help="fail when docs/nodes.md is not what the registry gives")

    def handle(self, *args, check, **options):
        text = node_reference_markdown()
        current = REFERENCE_PATH.read_text() if REFERENCE_PATH.exists() else ""
        if check:
            if current != text:
                raise CommandError(f"{REFERENCE_PATH} is stale: run "
                                   "`python manage.py weft_node_reference`.")
            self.stdout.write("The node reference is up to date.")
            return
        REFERENCE_PATH.parent.mkdir(parents=True, exist_ok=True)
        REFERENCE_PATH.write_text(text)
        self.stdout.write(f"Wrote {REFERENCE_PATH}.")
