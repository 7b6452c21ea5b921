"""The trained runs that ship with the app (assets/runs/, see dilate_lab.shipped), as the pages
read a run: a finished job's fields, its scores already computed, loaded once per server."""

from dataclasses import dataclass, field

import streamlit as st

from dilate_lab import shipped
from dilate_lab.sources import SOURCES
from explorer.jobs import DONE


@dataclass
class ShippedRun:
    """A packed run with the fields the pages read from a job (id, config, epoch, reports, state,
    checkpoint, results): Results and Alignments show it as they show a finished run."""

    name: str
    packed: shipped.PackedRun = field(repr=False)
    state: str = DONE
    results: dict = field(default_factory=dict)  # the per-series scores, under explorer.scoring's key

    def __post_init__(self) -> None:
        self.results[("per_series", self.epoch)] = self.packed.scores

    @property
    def id(self) -> str:
        return f"shipped:{self.name}"

    @property
    def config(self):
        return self.packed.config

    @property
    def epoch(self) -> int:
        return self.packed.epoch

    @property
    def reports(self) -> list[dict]:
        return self.packed.reports

    @property
    def checkpoint(self) -> bytes:
        return self.packed.raw

    def title(self) -> str:
        """'Synthetic steps, trained 1000 epochs': the switch's label."""
        return f"{SOURCES[self.config.dataset].label}, trained {self.epoch} epochs (shipped)"


def names() -> list[str]:
    """The packed runs the app ships, synthetic first."""
    return shipped.available()


@st.cache_resource(max_entries=4, show_spinner="Loading the shipped trained run...")
def run(name: str) -> ShippedRun:
    """The packed run `name`, its models and data loaded once per server."""
    return ShippedRun(name, shipped.load(shipped.SHIPPED / f"{name}.pt"))
