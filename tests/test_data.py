"""The synthetic generator's definition and statistics, and every loader's checks and messages."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from dilate_lab.data import ASSETS, load_csv, load_ecg5000, load_etth1, make_synthetic, windows


def test_synthetic_shapes_types_and_determinism():
    a = make_synthetic(n=50, n_input=20, n_output=20, sigma=0.01, seed=3)
    b = make_synthetic(n=50, n_input=20, n_output=20, sigma=0.01, seed=3)
    c = make_synthetic(n=50, n_input=20, n_output=20, sigma=0.01, seed=4)
    for name in ("train_x", "train_y", "test_x", "test_y"):
        assert getattr(a, name).dtype == np.float32 and getattr(a, name).shape == (50, 20, 1)
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.train_x, c.train_x)
    assert a.train_breaks.shape == (50,) and a.test_breaks.shape == (50,)


def test_synthetic_follows_the_papers_recipe():
    data = make_synthetic(n=4000, sigma=0.0, seed=0)  # no noise: the structure alone
    series = np.concatenate([data.train_x, data.train_y], axis=1)[:, :, 0]  # (n, 40)
    breaks = data.train_breaks
    checked = 0
    for s, brk in zip(series, breaks, strict=True):
        peaks = np.flatnonzero(s[:brk])
        if len(peaks) == 2 and brk < 40:  # two distinct peaks, then the step
            i1, i2 = peaks
            assert 1 <= i1 <= 10 and 10 <= i2 <= 18
            assert brk - (i2 + (i2 - i1)) in range(-3, 4)
            np.testing.assert_allclose(s[brk:], s[i2] - s[i1], atol=1e-6)  # the step's height j2 - j1
            checked += 1
    assert checked > 3000
    # E[i2 + |i2 - i1| + U{-3..3}] = 14 + (14 - 5.5) + 0 = 22.5; its standard error here is 0.1
    assert abs(breaks.mean() - 22.5) < 0.4
    assert breaks.min() >= 10 - 3 and breaks.max() <= 18 + 17 + 3


def test_synthetic_validation_split_is_a_third_draw_of_the_same_recipe():
    data = make_synthetic(n=3000, sigma=0.0, seed=5)
    again = make_synthetic(n=3000, sigma=0.0, seed=5)
    assert data.val_x.shape == data.train_x.shape and data.val_y.shape == data.train_y.shape
    np.testing.assert_array_equal(data.val_x, again.val_x)
    # New series, not copies of training or test ones (the first ones differ)...
    assert not np.array_equal(data.val_x[:10], data.train_x[:10])
    assert not np.array_equal(data.val_x[:10], data.test_x[:10])
    # ...with the same statistics: the step heights j2 - j1 (last value) and the peak positions.
    for split in ("train", "test"):
        x, y = getattr(data, f"{split}_x")[:, :, 0], getattr(data, f"{split}_y")[:, :, 0]
        assert abs(y[:, -1].mean() - data.val_y[:, -1, 0].mean()) < 0.03  # mean 0, sd 0.41, n 3000
        assert abs((x > 0).sum(axis=1).mean() - (data.val_x[:, :, 0] > 0).sum(axis=1).mean()) < 0.1


def test_synthetic_noise_kinds():
    uniform = make_synthetic(n=2000, sigma=0.5, seed=1, noise="uniform")
    gaussian = make_synthetic(n=2000, sigma=0.5, seed=1, noise="gaussian")
    flat = make_synthetic(n=2000, sigma=0.0, seed=1, noise="uniform")
    residual_u = (uniform.train_x - flat.train_x)[:, :, 0]
    assert residual_u.min() >= 0 and residual_u.max() < 0.5
    assert abs(residual_u.mean() - 0.25) < 0.01
    residual_g = (gaussian.train_x - flat.train_x)[:, :, 0]
    assert residual_g.min() < 0 and abs(residual_g.std() - 0.5) < 0.02


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 0}, "n must be a whole number"),
        ({"n": 10**7}, "n must be a whole number"),
        ({"n_input": 3}, "n_input"),
        ({"n_output": 0}, "n_output"),
        ({"sigma": -0.1}, "sigma"),
        ({"sigma": float("nan")}, "sigma"),
        ({"noise": "pink"}, "noise must be one of"),
        ({"n": 2.5}, "whole number"),
    ],
)
def test_synthetic_rejects_out_of_range_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_synthetic(**kwargs)


def test_ecg5000_as_the_paper_splits_it():
    data = load_ecg5000()
    assert data.train_x.shape == (500, 84, 1) and data.train_y.shape == (500, 56, 1)
    assert data.test_x.shape == (4499, 84, 1) and data.test_y.shape == (4499, 56, 1)
    assert np.isfinite(data.test_y).all()


def test_etth1_windows_are_chronological_and_scaled_on_train():
    data = load_etth1(column="OT", n_input=48, n_output=24, stride=24)
    assert data.train_x.shape[1:] == (48, 1) and data.train_y.shape[1:] == (24, 1)
    train_values = np.concatenate([data.train_x[:, :24], data.train_y], axis=1)
    assert abs(float(train_values.mean())) < 0.2  # scaled with the training part's own mean
    with pytest.raises(ValueError, match="no column 'XX'"):
        load_etth1(column="XX")


def test_loaders_read_the_folder_they_are_given_and_say_where_the_data_are(tmp_path):
    with pytest.raises(FileNotFoundError, match="DILATE_ASSETS") as missing:
        load_etth1(assets=tmp_path)
    assert str(tmp_path / "ETTh1.csv") in str(missing.value)
    with pytest.raises(FileNotFoundError, match="assets="):
        load_ecg5000(assets=str(tmp_path))
    shutil.copy(ASSETS / "ETTh1.csv", tmp_path / "ETTh1.csv")  # an installed package, its data elsewhere
    moved = load_etth1(column="OT", assets=tmp_path)
    np.testing.assert_array_equal(moved.test_y, load_etth1(column="OT").test_y)


def test_assets_come_from_dilate_assets_when_it_is_set(tmp_path):
    code = "from dilate_lab import data; print(data.ASSETS)"
    env = {**os.environ, "DILATE_ASSETS": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == str(tmp_path)


def test_windows_split_and_scale():
    values = np.arange(100, dtype=float)[:, None]
    data = windows(values, n_input=5, n_output=3, train_fraction=0.7, stride=1)
    assert data.train_x.shape == (70 - 8 + 1, 5, 1) and data.test_x.shape == (30 - 8 + 1, 5, 1)
    mean, std = data.info["mean"][0], data.info["std"][0]
    assert mean == pytest.approx(34.5) and std == pytest.approx(np.arange(70).std())
    np.testing.assert_allclose(data.test_x[0, 0, 0] * std + mean, 70.0, rtol=1e-6)


def csv_bytes(text: str) -> bytes:
    return text.encode()


def test_csv_loader_accepts_numeric_columns_and_drops_a_date_column():
    rows = "\n".join(f"2020-01-{i % 28 + 1:02d},{i},{2 * i}" for i in range(60))
    data = load_csv(csv_bytes("date,a,b\n" + rows), n_input=6, n_output=2)
    assert data.n_features == 2 and data.info["columns"] == ["a", "b"]


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        ("a,b\n1,x\n2,y\n", {}, "not numeric: b"),
        ("a\n" + "1\n" * 5 + "1,2\n", {}, "could not be read as CSV \\(.*Expected 1 fields"),
        ("a,b\n1,2\n3,\n" + "4,5\n" * 50, {}, "missing values \\(NaN\\) in 1 rows, the first at row 3"),
        ("a\n1\n2\n3\n", {}, "too few for one window"),
        ("", {}, "could not be read as CSV"),
        ("a,b\n1,2\n" * 10, {"n_input": 0}, "window size must be"),
        ("a\n" + "1\n" * 100, {"max_bytes": 10}, "the limit is"),
        ("a\ninf\n" + "1\n" * 100, {}, "infinite"),
    ],
)
def test_csv_loader_rejects_junk_with_a_clear_message(text, kwargs, message):
    options = {"n_input": 4, "n_output": 2} | kwargs
    with pytest.raises(ValueError, match=message):
        load_csv(csv_bytes(text), **options)


def test_csv_loader_reads_paths(tmp_path):
    path = tmp_path / "series.csv"
    path.write_text("value\n" + "\n".join(str(np.sin(i / 5)) for i in range(200)))
    data = load_csv(path, n_input=10, n_output=5, stride=5)
    assert data.train_x.shape[1:] == (10, 1)


def test_a_csv_loader_without_pandas_says_what_to_install(monkeypatch):
    from dilate_lab.data import load_csv

    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        load_csv(b"a\n1\n2\n", 1, 1)
