"""`make lint`'s dependency audit: every pin of requirements/lock.txt against the known
vulnerabilities (pip-audit, PyPI's advisory data, then OSV's).

pip-audit exits 0 when its service cannot answer and it skips a package, which would read
as "no vulnerabilities" here, where neither service is reachable. So this wrapper counts
what was really checked and says in words what was not. A finding fails the lint unless
requirements/audit-allow.txt names it with the reason it does not apply to kisweb.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
ALLOW = ROOT / "requirements" / "audit-allow.txt"
SERVICES = ("pypi", "osv")


def allowed() -> dict[str, str]:
    """``VULN-ID  reason`` per line; # starts a comment."""
    reasons: dict[str, str] = {}
    if ALLOW.exists():
        for line in ALLOW.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                vuln, _, reason = line.partition(" ")
                reasons[vuln] = reason.strip()
    return reasons


def audit(service: str) -> tuple[list[dict], str]:
    """The dependencies pip-audit reports, or [] and the reason it could not run."""
    command = [
        sys.executable, "-m", "pip_audit", "-r", str(LOCK), "--require-hashes",
        "--disable-pip", "--progress-spinner", "off", "-f", "json", "-s", service,
    ]  # fmt: skip
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            command, capture_output=True, text=True, timeout=300
        )
    except subprocess.TimeoutExpired:
        return [], f"{service}: no answer within 300 s"
    try:
        return json.loads(done.stdout)["dependencies"], ""
    except (json.JSONDecodeError, KeyError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [], f"{service}: {last[:200]}"


def main() -> int:
    reasons = allowed()
    problems: list[str] = []
    for service in SERVICES:
        dependencies, failure = audit(service)
        checked = [d for d in dependencies if "skip_reason" not in d]
        if failure or not checked:
            why = failure or f"{service}: every package was skipped ({len(dependencies)})"
            problems.append(why)
            continue
        skipped = len(dependencies) - len(checked)
        findings = [(d["name"], d["version"], v) for d in checked for v in d.get("vulns", [])]
        unexplained = [f for f in findings if f[2]["id"] not in reasons]
        print(
            f"dependency audit ({service}): {len(checked)} packages checked, "
            f"{skipped} skipped, {len(findings)} findings, {len(unexplained)} unexplained"
        )
        for name, version, vuln in findings:
            note = reasons.get(vuln["id"], "NOT EXPLAINED: fix it or explain it in audit-allow")
            print(f"  {name} {version}: {vuln['id']} (fixed in {vuln.get('fix_versions')}): {note}")
        return 1 if unexplained else 0
    print("DEPENDENCY AUDIT NOT DONE: no vulnerability service could be reached from here.")
    for problem in problems:
        print(f"  {problem}")
    print("  Run `make lint` where PyPI's JSON API or api.osv.dev answers to audit the lock.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
