"""Audit the installed dependencies with pip-audit: fail on known vulnerabilities only.

Where the vulnerability data cannot be reached (a registry mirror without PyPI's per-version
JSON, no network), pip-audit skips packages or cannot run: that is reported loudly, but does
not fail CI, since nothing was found. Usage: python .ci/audit.py [path to pip-audit]
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

pip_audit = sys.argv[1] if len(sys.argv) > 1 else ".venv/bin/pip-audit"
with tempfile.TemporaryDirectory() as folder:
    report = Path(folder) / "audit.json"
    result = subprocess.run(  # noqa: S603
        [pip_audit, "--progress-spinner", "off", "--skip-editable", "-f", "json", "-o", report],
        capture_output=True,
        text=True,
        check=False,
    )
    data = json.loads(report.read_text()) if report.is_file() and report.stat().st_size else None

if data is None:
    print(f"WARNING: pip-audit could not run (exit {result.returncode}); nothing was audited.")
    print(result.stderr.strip()[-2000:])
    sys.exit(0)

dependencies = data["dependencies"]
vulnerable = [d for d in dependencies if d.get("vulns")]
skipped = [d for d in dependencies if "skip_reason" in d]
audited = len(dependencies) - len(skipped)
print(
    f"pip-audit: {audited} packages audited, {len(skipped)} skipped, {len(vulnerable)} vulnerable"
)
if skipped:
    print(
        f"WARNING: {len(skipped)} of {len(dependencies)} packages could not be audited "
        f"(first: {skipped[0]['skip_reason']}). The vulnerability data is out of reach here."
    )
for dependency in vulnerable:
    for vuln in dependency["vulns"]:
        fixed = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
        print(
            f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixed})"
        )
sys.exit(1 if vulnerable else 0)
