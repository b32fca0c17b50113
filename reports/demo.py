"""The demo's trends: a year of nightly snapshots, as if the county had used Liudong since."""

from dateutil.relativedelta import relativedelta

from members.demo import DemoCounty, demo_step

from .snapshots import take_snapshots


@demo_step(order=90)
def seed_trends(demo: DemoCounty) -> None:
    """A year of monthly snapshots, recomputed from the demo's records as of each month."""
    for months_ago in range(12, -1, -1):
        take_snapshots(today=demo.today - relativedelta(months=months_ago))
