"""Data sets and trained runs, cached for the server: the same settings load once."""

import io

import streamlit as st

from dilate_lab import data
from dilate_lab.sources import SOURCES, data_settings
from dilate_lab.train import Trainer
from explorer import keys
from explorer.server import limits


@st.cache_data(max_entries=16, show_spinner="Loading the data...")
def dataset(source: str, settings: tuple[tuple[str, object], ...]) -> data.Dataset:
    """A built-in source's data set for its settings, given as sorted (name, value) pairs."""
    return SOURCES[source].load(dict(settings))


def uploaded_csv(raw: bytes, n_input: int, n_output: int, stride: int) -> tuple[data.Dataset | None, str | None]:
    """A user's CSV as a data set, or None and the reason it was rejected."""
    try:
        return data.load_csv(raw, n_input, n_output, stride, max_bytes=limits().upload_mb * 2**20), None
    except ValueError as error:
        return None, str(error)


@st.cache_resource(max_entries=4, show_spinner="Loading the trained models...")
def trained(job_id: int, epoch: int, _checkpoint: bytes, _dataset: data.Dataset) -> Trainer:
    """The models of a finished job, for predictions in the page (keyed by job and epoch)."""
    return Trainer.load(io.BytesIO(_checkpoint), _dataset)


def data_version(source: str, values: dict) -> str:
    """The text that names a data set by its source and settings (keys.DATA_VERSION), as the Data page writes it."""
    return repr((source, sorted(values.items())))


def make_current(source: str, values: dict) -> data.Dataset:
    """Load a built-in source's data set for these settings and make it this session's data, as the
    Data page does when a visitor picks them (opening Data with the same settings then keeps it)."""
    built = dataset(source, tuple(sorted(values.items())))
    st.session_state[keys.DATA] = built
    st.session_state[keys.DATA_SETTINGS] = data_settings(source, built, values)
    st.session_state[keys.DATA_VERSION] = data_version(source, values)
    return built
