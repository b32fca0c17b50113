from django.core.management.base import BaseCommand

from members.models import ScanRun
from members.scanning import scan
from members.tasks import scan_alerts


class Command(BaseCommand):
    help = (
        "Run every rule now, open and close alerts, and print the counts per rule. "
        "By default in this process, in one go; with --split as the nightly task does: one "
        "task per part (the children of the root) on the Celery workers, waiting for them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--split",
            action="store_true",
            help="Send the scan to the workers split by part, as beat does (needs workers "
            "when REDIS_URL is set; without it the parts run here, one after another).",
        )

    def handle(self, *args, split: bool, **options):
        if split:
            result = scan_alerts.delay().get()
            run = ScanRun.objects.get(pk=result["run"])
            for part in result["parts"]:
                self.stdout.write(
                    f"part {part['organisation']} on {part['worker']}: {part['seconds']:.2f} s"
                )
        else:
            run = scan()
        self.stdout.write(f"{'rule':32} {'matched':>8} {'opened':>7} {'closed':>7} {'seconds':>8}")
        for code, counts in run.results.items():
            if "error" in counts:
                self.stdout.write(self.style.ERROR(f"{code:32} failed: {counts['error']}"))
                continue
            self.stdout.write(
                f"{code:32} {counts['matched']:>8} {counts['opened']:>7} "
                f"{counts['closed']:>7} {counts['seconds']:>8.2f}"
            )
        if run.failed_rules:
            self.stderr.write(self.style.ERROR(f"{run.failed_rules} rule(s) failed; see above."))
