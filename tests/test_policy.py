import json
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from app.config.policy_loader import load_policy
from app.domain.policy import SLACK_OPTION_LABEL_MAX, Policy, PolicyError

PLAN_EXAMPLES = {
    "P0": [
        "Complete service outage",
        "Data breach or security incident",
        "Payment processing completely broken",
        "Database corruption",
    ],
    "P1": [
        "Partial service degradation",
        "Critical feature broken (auth, payments)",
        "High error rate (> 5%)",
        "Database performance issues",
    ],
    "P2": [
        "Non-critical feature broken",
        "Performance degradation",
        "Email delivery issues",
        "UI bugs affecting workflow",
    ],
    "P3": ["Minor UI issues", "Documentation errors", "Non-blocking bugs", "Feature requests"],
}
PLAN_ACTIONS = {
    "P0": [
        "Page on-call engineer immediately",
        "Create incident channel in Slack",
        "Start incident log",
        "Assess impact",
        "Implement emergency fix or rollback",
    ],
    "P1": [
        "Notify on-call engineer",
        "Create incident ticket",
        "Begin investigation",
        "Prepare fix or mitigation",
        "Deploy within 2 hours",
    ],
    "P2": [
        "Create ticket",
        "Assign to appropriate team",
        "Investigate and plan fix",
        "Deploy in next release window",
    ],
    "P3": ["Create ticket", "Add to backlog", "Fix in next sprint"],
}

SEVERITIES_YAML = """\
severities:
  P0: {name: Critical, response_target: 15m, escalate_to: L2}
  P1: {name: High, response_target: 1h, escalate_to: L2}
  P2: {name: Medium, response_target: 4h, escalate_to: L1}
  P3: {name: Low, response_target: 24h, escalate_to: L1}
"""


def write(tmp_path: Path, text: str, name: str = "policy.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(None)


def test_default_policy_matches_the_plan(policy):
    assert policy.severity_keys == ("P0", "P1", "P2", "P3")
    assert [(s.name, s.label) for s in policy.severities.values()] == [
        ("Critical", "Immediate Response"),
        ("High", "Urgent Response"),
        ("Medium", "Same Day Response"),
        ("Low", "Next Business Day"),
    ]
    assert [s.response_target for s in policy.severities.values()] == [
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(hours=4),
        timedelta(hours=24),
    ]
    for key, severity in policy.severities.items():
        assert list(severity.examples) == PLAN_EXAMPLES[key]
        assert list(severity.actions) == PLAN_ACTIONS[key]

    levels = policy.escalation.levels
    assert [(lv.key, lv.name) for lv in levels] == [
        ("L1", "On-call Engineer"),
        ("L2", "Engineering Lead"),
        ("L3", "CTO"),
        ("L4", "CEO"),
    ]
    assert [lv.window for lv in levels[:3]] == [
        timedelta(minutes=15),
        timedelta(minutes=30),
        timedelta(hours=1),
    ]
    assert levels[3].critical_only and levels[3].window is None
    assert [lv.key for lv in policy.levels_for("P0")] == ["L1", "L2", "L3", "L4"]
    for key in ("P1", "P2", "P3"):
        assert "L4" not in [lv.key for lv in policy.levels_for(key)]
    assert policy.review_within == timedelta(hours=48)


def test_default_policy_cadences_and_lookups(policy):
    assert [s.update_every for s in policy.severities.values()] == [
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=4),
        None,
    ]
    assert [lv.key for lv in policy.levels_for("P2")] == ["L1", "L2"]
    assert [policy.rank(k) for k in ("P0", "P1", "P2", "P3")] == [0, 1, 2, 3]
    assert policy.severity("P1").title == "P1 - High (Urgent Response)"
    assert policy.level("L3").name == "CTO"
    assert policy.impact("data_breach").private is True
    assert policy.has_impact("outage") and not policy.has_impact("retired")
    assert policy.timeline_emoji == ("pushpin",)
    with pytest.raises(KeyError, match="P7"):
        policy.severity("P7")
    with pytest.raises(KeyError):
        policy.impact("nope")


def test_default_impacts_fit_slack_and_cover_every_p0_example(policy):
    assert all(len(i.label) <= SLACK_OPTION_LABEL_MAX for i in policy.impacts)
    p0_labels = {i.label for i in policy.impacts if i.severity == "P0"}
    assert p0_labels == set(PLAN_EXAMPLES["P0"])
    assert {i.severity for i in policy.impacts} == {"P0", "P1", "P2", "P3"}


def test_malformed_policy_names_file_line_and_key(tmp_path):
    path = write(
        tmp_path,
        """\
        escalation:
          levels:
            - {key: L1, name: On-call Engineer, window: 15m}
            - key: L2
              name: Engineering Lead
              window: soon
            - {key: L3, name: CTO, window: 1h}
            - {key: L4, name: CEO, critical_only: true}
        """,
    )
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    message = str(info.value)
    assert "policy.yml line 6: escalation.levels[1].window: invalid duration 'soon'" in message
    assert "(use 30s, 15m, 1h)" in message
    assert info.value.line == 6
    assert info.value.key_path == "escalation.levels[1].window"
    assert info.value.file == str(path)


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "review_within: 48h\nimpacts:\n  - {key: a, label: [unclosed\n")
    with pytest.raises(PolicyError, match=r"policy\.yml line \d+: invalid YAML") as info:
        load_policy(path)
    assert info.value.line is not None and info.value.line >= 3


def test_unquoted_usergroup_handle_gets_a_quoting_hint(tmp_path):
    path = write(tmp_path, "responders: []\nescalation:\n  levels:\n    - notify: [@sre]\n")
    with pytest.raises(PolicyError, match=r"line 4: invalid YAML.*quote values that start with @"):
        load_policy(path)


def test_missing_file_names_the_file(tmp_path):
    missing = tmp_path / "nowhere.yml"
    with pytest.raises(PolicyError, match=r"nowhere\.yml: policy file not found"):
        load_policy(missing)


def test_unknown_severity_in_an_impact_is_rejected(tmp_path):
    path = write(
        tmp_path,
        """\
        impacts:
          - {key: outage, label: Outage, severity: P0}
          - {key: meh, label: Meh, severity: P9}
        """,
    )
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value) == (
        f"{path} line 3: impacts[1].severity: unknown severity 'P9' (known: P0, P1, P2, P3)"
    )


@pytest.mark.parametrize("entry", ["bob", "u012ab3cd", "@", "S0123ABC", "mailto:bob", "bob@host"])
def test_notify_entry_must_be_user_id_handle_or_email(tmp_path, entry):
    path = write(
        tmp_path,
        f"""\
        escalation:
          levels:
            - key: L1
              name: On-call Engineer
              window: 15m
              notify: [U012AB3CD, "{entry}"]
            - {{key: L2, name: CEO, critical_only: true}}
        """,
    )
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert f"line 6: escalation.levels[0].notify[1]: '{entry}' is not a Slack user id" in str(
        info.value
    )


def test_notify_accepts_ids_handles_and_emails(tmp_path):
    path = write(
        tmp_path,
        """\
        escalation:
          levels:
            - {key: L1, name: On-call, window: 15m, notify: [U012AB3CD, W0ABC123, "@SRE-oncall"]}
            - {key: L2, name: Lead, window: 30m, notify: [oncall@zyphex-tech.com]}
            - {key: L3, name: CTO, window: 1h, notify: ~}
            - {key: L4, name: CEO, critical_only: true}
        """,
    )
    policy = load_policy(path)
    assert policy.level("L1").notify == ("U012AB3CD", "W0ABC123", "@sre-oncall")
    assert policy.level("L2").notify == ("oncall@zyphex-tech.com",)
    assert policy.level("L3").notify == ()


def test_partial_file_falls_back_to_defaults_for_missing_sections(tmp_path, policy):
    path = write(
        tmp_path,
        """\
        escalation:
          levels:
            - {key: L1, name: Primary, window: 5m, notify: [U012AB3CD]}
            - {key: L2, name: Lead, window: 10m}
            - {key: L3, name: CTO, window: 20m}
            - {key: L4, name: CEO, critical_only: true}
        review_within:
        """,
    )
    custom = load_policy(path)
    assert custom.level("L1").name == "Primary"
    assert custom.level("L1").window == timedelta(minutes=5)
    assert custom.severities == policy.severities
    assert custom.impacts == policy.impacts
    assert custom.review_within == timedelta(hours=48)


def test_section_inherited_from_default_is_blamed_honestly(tmp_path):
    path = write(
        tmp_path,
        """\
        escalation:
          levels:
            - {key: L1, name: On-call, window: 15m}
            - {key: L2, name: Lead}
        """,
    )
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    message = str(info.value)
    assert message.startswith(f"{path}: severities.P0.escalate_to: unknown escalation level 'L4'")
    assert "comes from the bundled default_policy.yml" in message
    assert "add a 'severities:' section to policy.yml" in message


def test_critical_only_level_is_reserved_for_the_most_severe(tmp_path):
    p1_to_ceo = SEVERITIES_YAML.replace("1h, escalate_to: L2", "1h, escalate_to: L4")
    path = write(tmp_path, p1_to_ceo)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value).startswith(
        f"{path} line 3: severities.P1.escalate_to: L4 (CEO) is critical_only: only P0"
    )


def test_severities_must_be_p0_to_p3_most_severe_first(tmp_path):
    reordered = (
        SEVERITIES_YAML.replace(
            "  P0: {name: Critical, response_target: 15m, escalate_to: L2}\n", ""
        )
        + "  P0: {name: Critical, response_target: 15m, escalate_to: L2}\n"
    )
    with pytest.raises(PolicyError, match="line 1: severities: must be listed most severe first"):
        load_policy(write(tmp_path, reordered))

    missing_p3 = SEVERITIES_YAML.rsplit("  P3", 1)[0]
    with pytest.raises(PolicyError, match="keys must be exactly P0, P1, P2, P3"):
        load_policy(write(tmp_path, missing_p3))

    renamed = SEVERITIES_YAML.replace("P2:", "Sev2:")
    with pytest.raises(PolicyError, match=r"line 4: severities\.Sev2: severity keys must be"):
        load_policy(write(tmp_path, renamed))


def test_custom_severities_with_a_fifth_level_are_allowed(tmp_path):
    path = write(
        tmp_path, SEVERITIES_YAML + "  P4: {name: Trivia, response_target: 2d, escalate_to: L1}\n"
    )
    custom = load_policy(path)
    assert custom.severity_keys == ("P0", "P1", "P2", "P3", "P4")
    assert custom.severity("P4").response_target == timedelta(days=2)


def test_escalation_levels_must_be_l1_to_ln_with_windows(tmp_path):
    skipped = write(
        tmp_path,
        """\
        escalation:
          levels:
            - {key: L1, name: On-call, window: 15m}
            - {key: L3, name: CTO, window: 1h}
        """,
    )
    with pytest.raises(PolicyError, match=r"line 4: escalation\.levels\[1\]\.key: .*expected 'L2'"):
        load_policy(skipped)

    no_window = write(
        tmp_path,
        """\
        escalation:
          levels:
            - {key: L1, name: On-call}
            - {key: L2, name: Lead, window: 30m}
            - {key: L3, name: CTO, window: 1h}
            - {key: L4, name: CEO, critical_only: true}
        """,
    )
    with pytest.raises(PolicyError, match=r"levels\[0\]\.window: window is required on L1"):
        load_policy(no_window)


@pytest.mark.parametrize("bad", ["0", "-15m", "0m"])
def test_durations_must_be_positive(tmp_path, bad):
    path = write(tmp_path, f"review_within: {bad}\n")
    with pytest.raises(PolicyError, match="review_within: invalid duration"):
        load_policy(path)


def test_unknown_keys_missing_keys_and_duplicates_are_reported(tmp_path):
    path = write(
        tmp_path,
        SEVERITIES_YAML.replace("name: Low, ", "").replace("name: Medium,", "name: Medium, x: 1,")
        + "colour: red\n",
    )
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.problems == [
        f"{path} line 4: severities.P2.x: unknown key 'x'",
        f"{path} line 5: severities.P3.name: missing required key",
        f"{path} line 6: colour: unknown key 'colour'",
    ]

    duplicated = write(tmp_path, "review_within: 1d\nreview_within: 2d\n")
    with pytest.raises(PolicyError, match=r"line 2: review_within: duplicate key"):
        load_policy(duplicated)


def test_impact_labels_over_slack_limit_are_rejected(tmp_path):
    label = "x" * (SLACK_OPTION_LABEL_MAX + 1)
    path = write(tmp_path, f"impacts:\n  - {{key: long, label: {label}, severity: P1}}\n")
    with pytest.raises(PolicyError, match=r"line 2: impacts\[0\]\.label: label is 76 characters"):
        load_policy(path)


def test_too_many_impacts_for_one_severity_are_rejected(tmp_path):
    rows = "".join(f"  - {{key: i{n}, label: Impact {n}, severity: P2}}\n" for n in range(11))
    path = write(tmp_path, "impacts:\n" + rows)
    with pytest.raises(PolicyError, match=r"line 12: impacts\[10\]: more than 10 impacts for P2"):
        load_policy(path)


def test_non_mapping_and_empty_files(tmp_path, policy):
    with pytest.raises(PolicyError, match=r"line 1: the policy must be a mapping"):
        load_policy(write(tmp_path, "- just\n- a list\n"))
    assert load_policy(write(tmp_path, "# nothing yet\n")) == policy


def test_snapshot_round_trip_is_json_with_seconds(policy):
    snapshot = policy.to_snapshot()
    stored = json.loads(json.dumps(snapshot))
    assert stored["severities"]["P0"]["response_target"] == 900
    assert stored["severities"]["P3"]["update_every"] is None
    assert stored["escalation"]["levels"][2]["window"] == 3600
    assert stored["review_within"] == 48 * 3600
    assert Policy.from_snapshot(stored) == policy


def test_snapshot_survives_key_reordering_by_the_database(policy):
    stored = policy.to_snapshot()
    stored["severities"] = dict(reversed(list(stored["severities"].items())))
    restored = Policy.from_snapshot(stored)
    assert restored.severity_keys == ("P0", "P1", "P2", "P3")
    assert restored == policy


def test_bad_snapshot_raises_policy_error(policy):
    stored = policy.to_snapshot()
    stored["review_within"] = "whenever"
    with pytest.raises(PolicyError, match="policy snapshot: review_within: invalid duration"):
        Policy.from_snapshot(stored)


def test_policy_is_frozen(policy):
    with pytest.raises(ValueError, match="frozen"):
        policy.review_within = timedelta(hours=1)


def test_docs_embed_the_current_default_policy():
    root = Path(__file__).resolve().parent.parent
    default = (root / "app" / "default_policy.yml").read_text(encoding="utf-8")
    assert default in (root / "docs" / "policy.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ alert rules


def test_default_alert_rules_map_monitoring_severities(policy):
    rules = policy.alerts
    assert rules.resolve is False
    assert rules.rule_for("alertmanager", {"severity": "critical"}).severity == "P0"
    assert rules.rule_for("alertmanager", {"severity": "HIGH"}).severity == "P1"  # any case
    assert rules.rule_for("alertmanager", {"severity": "info"}) is None
    assert rules.rule_for("alertmanager", {}) is None
    downtime = rules.rule_for("uptimerobot", {"alert_type": "down"})
    assert (downtime.severity, downtime.type) == ("P1", "service_downtime")
    sentry = rules.rule_for("sentry", {"resource": "event_alert", "level": "error"})
    assert (sentry.severity, sentry.type) == ("P2", "high_error_rate")
    assert rules.rule_for("generic", {"severity": "p3"}).severity == "P3"


def test_alert_rules_first_match_wins_and_declare_false_ignores(tmp_path):
    path = write(
        tmp_path,
        """\
        alerts:
          resolve: true
          rules:
            - {source: "*", match: {team: [payments, billing]}, severity: P0}
            - {match: {env: staging}, declare: false}
            - {source: alertmanager, severity: P2}
        """,
    )
    rules = load_policy(path).alerts
    assert rules.resolve is True
    assert rules.rule_for("sentry", {"team": "Billing"}).severity == "P0"
    assert rules.rule_for("alertmanager", {"env": "staging"}).declare is False
    assert rules.rule_for("alertmanager", {"env": "prod"}).severity == "P2"
    assert rules.rule_for("uptimerobot", {"env": "prod"}) is None


@pytest.mark.parametrize(
    ("rule", "line", "message"),
    [
        ("{source: nagios, severity: P1}", 3,
         "alerts.rules[0].source: unknown alert source 'nagios'"),
        ("{source: sentry, severity: P7}", 3, "alerts.rules[0].severity: unknown severity 'P7'"),
        ("{source: sentry}", 3,
         "alerts.rules[0].severity: a rule that declares needs a severity"),
        ("{source: sentry, severity: P1, type: Service-Down}", 3,
         "alerts.rules[0].type: incident type 'Service-Down' must be snake_case"),
        ("{source: sentry, severity: P1, match: {level: {a: b}}}", 3,
         "alerts.rules[0].match.level: match values must be text or a list of text"),
        ("{source: sentry, severity: P1, when: always}", 3,
         "alerts.rules[0].when: unknown key 'when'"),
    ],
)  # fmt: skip
def test_a_bad_alert_rule_names_file_line_and_key(tmp_path, rule, line, message):
    path = write(tmp_path, f"alerts:\n  rules:\n    - {rule}\n")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert f"policy.yml line {line}: {message}" in str(info.value)


def test_backup_after_needs_a_schedule_and_must_come_before_the_window(tmp_path):
    schedules = """\
        oncall:
          schedules:
            primary:
              layers: [{members: [U01AAA, U01BBB], start: 2026-11-30}]
"""
    no_schedule = write(
        tmp_path,
        schedules
        + """\
        escalation:
          levels:
            - {key: L1, name: On-call, window: 15m, notify: [U01AAA], backup_after: 5m}
            - {key: L2, name: Lead, window: 30m}
            - {key: L3, name: CTO, window: 1h}
            - {key: L4, name: CEO, critical_only: true}
        """,
    )
    with pytest.raises(PolicyError, match=r"levels\[0\]\.backup_after: .*names no schedule"):
        load_policy(no_schedule)
    too_late = write(
        tmp_path,
        schedules
        + """\
        escalation:
          levels:
            - {key: L1, name: On-call, window: 15m, notify: [schedule:primary], backup_after: 15m}
            - {key: L2, name: Lead, window: 30m}
            - {key: L3, name: CTO, window: 1h}
            - {key: L4, name: CEO, critical_only: true}
        """,
    )
    with pytest.raises(PolicyError, match=r"backup_after .* must be shorter than L1's window"):
        load_policy(too_late)
    fine = write(tmp_path, too_late.read_text().replace("backup_after: 15m", "backup_after: 5m"))
    assert load_policy(fine).level("L1").backup_after == timedelta(minutes=5)
