from django.core.management.base import BaseCommand

from alerts.models import ScanRun
from alerts.scanning import SPLIT_BY_COUNTY, SPLIT_BY_RULE, scan
from alerts.tasks import scan_alerts


class Command(BaseCommand):
    help = (
        "Run every rule now, open and close alerts, and print the counts per rule. "
        "By default in this process, in one go. With --split, as the nightly task does: the "
        "scan split into tasks for the Celery workers (one per rule, or with --split county "
        "one per child of the root), waiting until all are done."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--split",
            nargs="?",
            const=SPLIT_BY_RULE,
            choices=[SPLIT_BY_RULE, SPLIT_BY_COUNTY],
            help="Send the scan to the workers, split by rule (the default, as beat does) or "
            "by county. Needs running workers when REDIS_URL is set; without it the parts "
            "run here, one after another.",
        )

    def handle(self, *args, split: str | None, **options):
        if split:
            result = scan_alerts.delay(split=split).get()
            run = ScanRun.objects.get(pk=result["run"])
            for part in result["parts"]:
                what = part["rule"] or f"organisation {part['organisation']}"
                self.stdout.write(f"part {what} on {part['worker']}: {part['seconds']:.2f} s")
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
