"""`govflow bench http` runs end to end on SQLite and PostgreSQL (tiny numbers; the
figures are in the README)."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from bench.http import main


def test_the_http_benchmark_reports_rates_latencies_and_errors(postgres_server,
                                                               capsys) -> None:
    admin = create_engine(postgres_server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "bench_http_smoke"'))
        conn.execute(text('CREATE DATABASE "bench_http_smoke"'))
    admin.dispose()
    main(["--database", postgres_server.url("bench_http_smoke"), "--workers", "2",
          "--cases", "16", "--gets", "4", "--held", "2", "--runs", "1", "--json"])
    figures = json.loads(capsys.readouterr().out)
    assert set(figures) == {"sqlite", "postgres"}
    for found in figures.values():
        assert found["errors"] == 0
        assert found["in_process_per_s"] > 0 and found["http_completions_per_s"] > 0
        assert found["ratio"] == found["http_completions_per_s"] / found["in_process_per_s"]
        for call in ("complete", "claim", "get"):
            assert 0 < found[f"{call}_p50_ms"] <= found[f"{call}_p95_ms"] \
                <= found[f"{call}_p99_ms"]
        assert found["server_cpu_ms_per_get"] >= 0
