"""The Paper page: its figures, its small versions, and the page itself under AppTest and in a browser."""

import os
import re

import pandas as pd
import pytest
from playwright import sync_api as playwright
from streamlit.testing.v1 import AppTest

from dilate_lab import paper
from dilate_lab.sweep import Sweep, paper_model, reduced, spread
from explorer import charts_paper, keys
from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, free_port, open_section, start_server, stop_server

APP = "../app.py"


def _summary(name: str) -> pd.DataFrame:
    return pd.read_csv(paper.RESULTS / name / "summary.csv")


def test_the_comparison_chart_puts_ours_beside_the_papers_in_each_losss_colour_with_the_verdict():
    rows = _summary("table1_ecg5000")
    rows = rows[(rows["model"] == "seq2seq") & (rows["protocol"] == "best")]
    fig = charts_paper.paper_comparison(rows)
    drawn = [trace for trace in fig.data if trace.x[0] is not None]
    ours = {trace.name: trace for trace in drawn if trace.name.endswith(", ours")}
    theirs = {trace.name: trace for trace in drawn if trace.name.endswith(", paper")}
    assert len(ours) == len(theirs) == 3 and len(drawn) == 3 * 3 * 2  # 3 losses x 3 metrics, ours and the paper's
    assert ours["DILATE, ours"].marker.color == charts_paper.COLOURS["dilate"]
    assert theirs["MSE, paper"].marker.line.color == charts_paper.COLOURS["mse"]
    dilate_mse = rows[(rows["loss"] == "dilate") & (rows["metric"] == "mse")].iloc[0]
    first = next(t for t in drawn if t.name == "DILATE, ours" and t.xaxis == "x")
    assert first.y[0] == pytest.approx(dilate_mse["mean"]) and first.error_y.array[0] == pytest.approx(
        dilate_mse["std"]
    )
    # The verdicts as colour: ECG5000 Seq2Seq, 4 of 9 consistent (Welch), the other 5 differ.
    marks = [a.font.color for a in fig.layout.annotations if a.text in charts_paper.VERDICT_MARKS.values()]
    assert (
        marks.count(charts_paper.VERDICT_COLOURS["consistent"]) == 4
        and marks.count(charts_paper.VERDICT_COLOURS["differs"]) == 5
    )
    legend = [trace.name for trace in fig.data if trace.showlegend]
    assert len(legend) == len(set(legend)) == 5  # ours, the paper, three verdicts: one entry each


def test_figure_5b_is_readable_over_every_alpha_with_one_legend_entry_per_thing():
    rows = _summary("figure5b_alpha")
    fig = charts_paper.alpha_panels(rows[rows["protocol"] == "best"], paper.PAPER_LOSS_PARAMETERS["alpha"])
    # alpha = 0's MSE (600) and DTW (1000) no longer flatten the rest; its TDI is 0, so TDI stays linear
    assert [fig.layout[f"yaxis{i}"].type for i in ("", 2, 3)] == ["log", "log", None]
    legend = [trace.name for trace in fig.data if trace.showlegend]
    assert legend == ["DILATE, ours (mean ± std)", "the paper (Table 1, alpha 0.5)"]
    paper_points = [trace for trace in fig.data if trace.name.startswith("the paper")]
    assert {trace.x[0] for trace in paper_points} == {0.5}  # the paper's value only where it was trained


def test_alpha_influence_draws_ours_by_alpha_and_the_papers_table1_value_at_its_alpha():
    rows = _summary("figure5b_alpha")  # the committed Figure 5(b) summary, as the Paper page reads it
    fig = charts_paper.alpha_influence(rows[rows["protocol"] == "best"], paper.PAPER_LOSS_PARAMETERS["alpha"])
    ours = [trace for trace in fig.data if trace.mode == "lines+markers"]
    reported = [trace for trace in fig.data if trace.name == "the paper (Table 1)"]
    assert len(ours) == 3 and all(list(trace.x) == sorted(trace.x) for trace in ours)
    # Table 1, synthetic Seq2Seq, DILATE: MSE x100, DTW x100, TDI x10, at alpha 0.5
    assert [(list(t.x), list(t.y), list(t.error_y.array)) for t in reported] == [
        ([0.5], [1.21], [0.13]),
        ([0.5], [23.1], [2.44]),
        ([0.5], [14.8], [1.29]),
    ]
    assert [t.showlegend for t in reported] == [True, False, False]


def test_figure_5a_shows_the_spread_over_repeats_where_measured():
    rows = pd.DataFrame(
        {"k": [20, 100], "speedup": [30.0, 40.0], "speedup_low": [25.0, 35.0], "speedup_high": [36.0, 44.0]}
    )
    fig = charts_paper.speedup_spread(rows, paper.FIGURE5A_SPEEDUPS)
    ours = fig.data[0]
    assert list(ours.error_y.array) == [6.0, 4.0] and list(ours.error_y.arrayminus) == [5.0, 5.0]
    assert charts_paper.speedup_spread(rows[["k", "speedup"]], {}).data[0].error_y.array is None


def test_the_small_figure_5b_trains_several_alphas_and_a_small_warmup_shrinks_with_the_epochs():
    alpha = Sweep.from_file(paper.SWEEPS / "figure5b_alpha.toml")[0]
    small = reduced(alpha, 40, 2, spread(alpha.cells(), 3))
    assert sorted({task.config["alpha"] for task in small.tasks()}) == [0.0, 0.5, 1.0]
    assert {task.config["epochs"] for task in small.tasks()} == {40} and len(small.tasks()) == 6
    warmup = Sweep.from_file(paper.SWEEPS / "ecg5000_warmup.toml")[0]
    (task, _) = reduced(warmup, 50).tasks()
    assert (task.config["mse_warmup"], task.config["epochs"]) == (5, 50)  # 100 of 1000 epochs: a tenth


def test_only_a_model_the_paper_trained_stands_beside_a_paper_value():
    for task in reduced(Sweep.from_file(paper.SWEEPS / "figure5b_alpha.toml")[0], 10, 1, [{"alpha": 0.0}]).tasks():
        assert not paper_model("dilate", task.config)  # alpha 0 beside Table 1's alpha 0.5: never
    assert paper_model("dilate", {"alpha": 0.5, "gamma": 0.01})
    assert not paper_model("dilate", {"alpha": 0.5, "gamma": 0.01, "mse_warmup": 10})  # an MSE model first
    assert not paper_model("soft_dtw", {"gamma": 0.1}) and paper_model("mse", {"gamma": 0.1})


def test_the_paper_page_shows_the_claims_the_charts_and_the_ecg5000_finding():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/paper.py")
    at.run()
    assert not at.exception, at.exception
    titles = [h.value for h in at.header]
    assert titles == [
        "The paper's claims at a glance",
        "ECG5000: what reproduces, and what is still open",
        "Every experiment",
    ]
    assert {e.title for e in paper.EXPERIMENTS} <= {e.label for e in at.expander}
    assert len(at.get("plotly_chart")) == 0  # every experiment's section closed: none of its charts is made
    claims = pd.read_csv(paper.CLAIMS_CSV, dtype=str, keep_default_na=False)
    texts = [m.value for m in at.markdown]
    assert any(paper.CLAIMS_SENTENCE in text for text in texts)  # the Overview prints the same sentence
    # One verdict table per data set of the paper's, ours beside the paper's: ECG5000's TDI claim for Seq2Seq
    sentence = next(i for i, text in enumerate(texts) if text.startswith("**ECG5000**"))
    ecg = texts[sentence + 1]  # the data set's verdict table follows its sentence
    assert ecg.startswith("| claim | Seq2Seq: ours | Seq2Seq: paper | MLP: ours | MLP: paper |")
    row = claims[(claims["experiment"] == "table1_ecg5000") & (claims["model"] == "seq2seq")].set_index("claim")
    marks = {"yes": "✓", "no": "✗", "inconclusive": "?"}
    line = next(line for line in ecg.splitlines() if line.startswith("| TDI: DILATE < MSE |"))
    assert line.split(" | ")[1:3] == [
        marks[row.loc["dilate_mse_on_tdi", "holds"]],
        marks[row.loc["dilate_mse_on_tdi", "paper_holds"]],
    ]
    # both models' TDI verdicts differ from the paper's own (ours ✗; the paper's ✓ and ?): named as not reproducing
    ecg_tdi = claims[(claims["experiment"] == "table1_ecg5000") & (claims["claim"] == "dilate_mse_on_tdi")]
    assert set(ecg_tdi["reproduces"]) == {"no"}
    assert "TDI: DILATE < MSE," in texts[sentence].split(" reproduce;")[1]
    # ETTh1 in its own block, never among the paper's claims; warm-up models never at a glance
    assert "ETTh1: not in the paper; stands in for Traffic" in [h.value for h in at.subheader]
    assert not any(text.startswith("**ETTh1") for text in texts)
    for name in [e.name for e in paper.EXPERIMENTS] + ["figure5a"]:
        at.session_state[f"paper.open.{name}"] = True  # every section opened
    at.run()
    assert len(at.get("plotly_chart")) >= len(paper.EXPERIMENTS) + 1  # every experiment's, and Figure 5(a)
    assert any("Welch's two-sided t-test" in m.value for m in at.markdown)
    # A small Figure 5(b) trains several alphas, and every button is disabled while it runs.
    next(b for b in at.button if b.key == "paper.rerun.figure5b_alpha").click().run()
    assert not at.exception, at.exception
    rerun = at.session_state[keys.PAPER_RERUN]
    assert len({config["alpha"] for config in rerun["configs"]}) == 3
    assert all(b.disabled for b in at.button if b.key.startswith("paper.rerun."))
    from explorer import server

    pool = server.job_pool()
    for job_id in rerun["jobs"]:  # the small version itself is not needed here; its session's id is not at hand
        pool.stop(pool._jobs[job_id].owner, job_id)


@pytest.mark.parametrize("name", ["table1_synthetic", "table1_ecg5000"])
def test_a_summary_says_how_it_judges_and_counts_only_table_1s_metrics(name):
    text = (paper.RESULTS / name / "summary.md").read_text()
    assert "Welch's two-sided t-test" in text and "not comparable, in no count" in text
    (header,) = re.findall(r"Consistent with the paper \(Welch's t-test, p ≥ 0.05\): (\d+) of (\d+) MSE", text)
    assert int(header[1]) == 18  # 2 models x 3 losses x 3 metrics: no ramp or Hausdorff row


SECTIONS = [e.title for e in paper.EXPERIMENTS] + ["Figure 5(a): the custom backward against autograd"]
SCREENSHOT_PARTS = {
    "ecg": "ECG5000: what reproduces, and what is still open",
    "table1": "Tables 1 and 2: ECG5000",
    "etth1": "ETTh1: not in the paper; stands in for Traffic",
    "alpha": "Figure 5(b): the influence of alpha",
    "speedup": "Figure 5(a): the custom backward against autograd",
}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make test installs it)")
def test_the_paper_page_in_a_browser_draws_the_claims_and_the_charts_light_dark_and_narrow():
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    server = start_server(port)
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            for name, scheme, width in (("light", "light", 1400), ("dark", "dark", 1400), ("narrow", "light", 390)):
                page = browser.new_page(viewport={"width": width, "height": 1000}, color_scheme=scheme)
                page.set_default_timeout(120_000)
                page.goto(f"http://127.0.0.1:{port}/paper")
                page.get_by_role("heading", name="The paper's claims at a glance").wait_for()
                page.get_by_text("ETTh1: not in the paper; stands in for Traffic").first.wait_for()
                # Each section opened as a reader does (its charts are drawn then): all of them in the light
                # view; in the others, those the screenshots show.
                opened = SECTIONS if name == "light" else [s for s in SCREENSHOT_PARTS.values() if s in SECTIONS]
                for section in opened:
                    open_section(page, section)
                charts_drawn = page.locator(".js-plotly-plot .main-svg")
                charts_drawn.nth(len(opened) - 1).wait_for()  # at least one chart per section opened
                assert page.locator(".js-plotly-plot").count() >= len(opened)
                page.wait_for_timeout(1500)  # the last charts' layout
                page.screenshot(path=str(ARTIFACTS / f"paper-{name}.png"))
                for part, heading in SCREENSHOT_PARTS.items():  # the page scrolls inside Streamlit's main block
                    page.locator("summary, h2").filter(
                        has=page.get_by_text(heading, exact=True)
                    ).first.scroll_into_view_if_needed()
                    page.wait_for_timeout(500)
                    page.screenshot(path=str(ARTIFACTS / f"paper-{name}-{part}.png"))
                page.close()
            browser.close()
    finally:
        stop_server(server)
