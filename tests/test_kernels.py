"""The server's background compiler (explorer/kernels.py): what a page wants is compiled next."""

import threading

from explorer import kernel_plan
from explorer.kernels import APP_GROUPS, Compiler


def test_the_compiler_takes_the_groups_a_page_wants_next_and_ends_with_every_group_of_the_app(monkeypatch):
    compiled, first_began, go_on = [], threading.Event(), threading.Event()

    def warmup(groups):  # records the order; the first group lasts until the page below has asked
        compiled.extend(groups)
        if len(compiled) == 1:
            first_began.set()
            go_on.wait(10)

    monkeypatch.setattr(kernel_plan, "warm", warmup)
    finished = threading.Event()
    compiler = Compiler(in_child=False, then=finished.set)
    assert first_began.wait(10)
    compiler.want(("training", "alignments"))  # a page opened while the first group compiles
    assert not compiler.ready(("training",))
    go_on.set()
    assert finished.wait(10)  # (waiting for groups would want them, in the order named)
    assert compiled == ["scores", "training", "alignments", "gradients", "evaluation"]
    assert compiler.ready(APP_GROUPS) and set(compiler.seconds) == set(APP_GROUPS)


def test_waiting_for_groups_without_wanting_them_leaves_the_queue_as_it_was(monkeypatch):
    # The job pool, made as the server starts, waits for the training kernels: a fresh server's
    # first visitors, on the pages, must not wait behind them (training compiles for half a minute).
    compiled, first_began, go_on = [], threading.Event(), threading.Event()

    def warmup(groups):
        compiled.extend(groups)
        if len(compiled) == 1:
            first_began.set()
            go_on.wait(10)

    monkeypatch.setattr(kernel_plan, "warm", warmup)
    compiler = Compiler(in_child=False)
    assert first_began.wait(10)
    assert not compiler.wait(("training",), timeout=0.01, wanted=False)
    go_on.set()
    assert compiler.wait(("training",), timeout=10, wanted=False)
    assert compiled[: len(APP_GROUPS) - 1] == list(APP_GROUPS[:-1])  # training in its own place
    assert compiler.wait(APP_GROUPS, timeout=10) and compiled == list(APP_GROUPS)
