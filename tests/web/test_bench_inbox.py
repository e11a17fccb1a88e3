"""The inbox benchmark runs end to end (on tiny databases; the real figures are in README)."""

from __future__ import annotations

import json

from bench.inbox import main


def test_the_inbox_benchmark_reports_query_and_page_percentiles(tmp_path, capsys) -> None:
    main(["--total", "4000", "--open", "400", "--small", "1000", "--runs", "3",
          "--out", str(tmp_path), "--json"])
    figures = json.loads(capsys.readouterr().out.split("\ntargets")[0])
    for size in ("large", "small"):
        assert set(figures[size]) == {"query_p50", "query_p95", "page_p50", "page_p95"}
        assert 0 < figures[size]["query_p50"] <= figures[size]["query_p95"]
    assert figures["query_p95_ratio"] > 0
