"""The summary stays readable and bounded however many services share a finding: lists of names
are capped, and the same finding (or the same unverified reach) for many services is one line."""

from click.testing import CliRunner

from hardener.cli import cli


def test_many_edges_and_stores_give_a_bounded_summary(tmp_path):
    n = 400
    lines = ["services:"]
    for i in range(n):
        lines += [f"  e{i}:", "    image: nginx:1.27", "    ports: ['80']", "    networks: [flat]"]
    for i in range(n):
        lines += [f"  d{i}:", "    image: postgres:16", "    networks: [flat]"]
    lines += ["networks:", "  flat:"]
    path = tmp_path / "compose.yaml"
    path.write_text("\n".join(lines) + "\n")
    r = CliRunner().invoke(cli, ["--diff", str(path)], catch_exceptions=False)
    assert r.exit_code in (0, 1), r.stderr
    summary = r.stderr.splitlines()
    assert len(summary) <= 2 * n + 20, "more than one line per service"
    assert max(len(line) for line in summary) < 1500, "a line lists every service"
    grouped = [line for line in summary if "(+" in line and "more)" in line]
    assert grouped, "the same finding for hundreds of services is not grouped"
