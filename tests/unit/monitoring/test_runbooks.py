"""Every alert links its runbook: a documented base URL plus a page that exists in docs/runbooks/."""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
RUNBOOK_BASE = "https://github.com/ripcord-dev/ripcord/blob/main/"  # documented in docs/runbooks/README.md


def alerts() -> list[dict[str, object]]:
    rule = yaml.safe_load((ROOT / "manifests" / "monitoring" / "prometheus_rule.yaml").read_text())
    return [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]


def test_every_alert_has_a_runbook_page() -> None:
    assert alerts()
    for rule in alerts():
        name = str(rule["alert"])
        url = rule["annotations"]["runbook_url"]  # type: ignore[index]
        assert url.startswith(RUNBOOK_BASE), (name, url)
        path = url[len(RUNBOOK_BASE):]
        assert path == f"docs/runbooks/{name}.md", (name, url)
        page = ROOT / path
        assert page.is_file(), f"{name}: {path} does not exist"
        text = page.read_text()
        assert text.startswith(f"# {name}\n"), f"{path} should be titled after the alert"
        for section in ("**What it means.**", "## Confirm", "## What to do", "## Escalate"):
            assert section in text, f"{path} lacks {section}"


def test_the_base_url_is_the_documented_one() -> None:
    readme = (ROOT / "docs" / "runbooks" / "README.md").read_text()
    assert f"`{RUNBOOK_BASE}`" in readme
    for rule in alerts():
        assert f"[{rule['alert']}]({rule['alert']}.md)" in readme, f"{rule['alert']} is not in the runbook index"


def test_the_on_call_runbooks_exist() -> None:
    for page in ("bad-release-in-production.md", "operator-down.md"):
        assert (ROOT / "docs" / "runbooks" / page).is_file()
