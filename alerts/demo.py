"""The demo's last step: the scan, so the demo opens with the alerts a night's would raise."""

from members.demo import DemoCounty, demo_step

from .scanning import scan


@demo_step(order=1000)
def scan_the_demo(demo: DemoCounty) -> None:
    scan()
