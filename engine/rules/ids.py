"""Rule ids of docs/regulations.md and the articles behind them, for audit events."""

RULE_SOURCES: dict[str, str] = {
    "S1": "ZJ 22; HB 20; GD 19; JL 25",
    "S2": "GD 19; ZJ 22; JL 25",
    "S3": "HB 20; GD 19; GD(2008) 22",
    "S4": "HB 20; GD 19; ZJ 22",
    "S5": "HB 20",
    "S6": "HB 20; GD(2008) 22",
    "S7": "ZJ 22; ZH 19",
    "S8": "HB 22",
    "S9": "JL 26",
    "S10": "ZJ 23; JL 23",
    "S11": "ZJ 21; HB 20, 32; JL 24",
    "O1": "HB 26; JL 28",
    "O2": "ZJ 25",
    "O3": "ZJ 26",
    "O4": "HB 27; JL 28",
    "O5": "ZJ 28; ZH 24",
    "J1": "JL 46; HB 28",
    "J2": "JL 46",
    "J3": "JL 46(1)",
    "J4": "JL 46(2)",
    "J5": "HB 28",
    "J6": "HB 13; ZH 18; GD 21",
    "J7": "JL 50",
}


def cite(rule: str | None) -> str | None:
    """Return "S5 (HB 20)" for "S5"; several ids may be given comma-separated."""
    if not rule:
        return None
    ids = [part.strip() for part in rule.split(",") if part.strip()]
    return "; ".join(f"{i} ({RULE_SOURCES[i]})" if i in RULE_SOURCES else i for i in ids)
