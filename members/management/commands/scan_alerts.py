from django.core.management.base import BaseCommand

from members.scanning import scan


class Command(BaseCommand):
    help = "Run every rule now, open and close alerts, and print the counts per rule."

    def handle(self, *args, **options):
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
