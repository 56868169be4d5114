"""Time series: the bundled statsmodels data read right, CSV files, gaps, and the Scaler."""

import json

import numpy as np
import pytest

from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.tasks.time_series import STATSMODELS_SERIES, Scaler, load_series


def test_sunspots_start_end_and_length():
    series = load_series("sunspots")
    assert series.values.shape == (309, 1)
    assert series.values.dtype == np.float64
    assert series.columns == ("SUNACTIVITY",)
    assert series.values[:3, 0].tolist() == [5.0, 11.0, 16.0]
    assert series.times[0] == 1700.0 and series.times[1] == 1701.0 and series.times[-1] == 2008.0
    assert series.values[-1, 0] == 2.9
    assert series.period == 11 and series.filled == 0


def test_elnino_is_flattened_year_by_year():
    series = load_series("elnino")
    assert series.values.shape == (61 * 12, 1)
    assert series.values[0, 0] == 23.11  # Jan 1950
    assert series.values[1, 0] == 24.20  # Feb 1950
    assert series.values[11, 0] == 21.80  # Dec 1950
    assert series.values[12, 0] == 24.19  # Jan 1951
    assert series.values[-1, 0] == 22.07  # Dec 2010
    assert series.times[1] == pytest.approx(1950 + 1 / 12)
    assert series.times[12] == 1951.0
    assert series.period == 12


def test_co2_gaps_are_filled():
    series = load_series("co2")
    assert series.filled == 59
    assert not np.isnan(series.values).any()
    assert series.values.shape == (2284, 1)
    assert series.times[0] == pytest.approx(1958 + 87 / 365)  # 29 March 1958, day 88
    assert np.all(np.diff(series.times) == pytest.approx(7 / 365.25, abs=0.002))
    assert series.period == 52


def test_macrodata_drops_year_and_quarter_and_selects_columns():
    series = load_series("macrodata")
    assert series.values.shape == (203, 12)
    assert "year" not in series.columns and "quarter" not in series.columns
    assert series.times[:2].tolist() == [1959.0, 1959.25]
    assert series.period == 4
    chosen = load_series("macrodata", columns=["unemp", "realgdp"], period=8)
    assert chosen.columns == ("unemp", "realgdp")
    assert chosen.values[0].tolist() == [5.8, 2710.349]
    assert chosen.period == 8
    np.testing.assert_array_equal(chosen.column("realgdp"), series.column("realgdp"))


def test_name_and_path_are_exclusive(tmp_path):
    with pytest.raises(ValueError, match="exactly one of name"):
        load_series()
    with pytest.raises(ValueError, match="exactly one of name"):
        load_series("sunspots", path=tmp_path / "x.csv")


def test_unknown_name_suggests_and_lists():
    # a ConfigError is a ValueError that the command line prints as one line
    with pytest.raises(ConfigError, match="did you mean 'sunspots'") as error:
        load_series("sunspot")
    for name in STATSMODELS_SERIES:
        assert name in str(error.value)


def test_unknown_column_names_the_valid_ones():
    with pytest.raises(ValueError, match="SUNACTIVITY"):
        load_series("sunspots", columns=["sunactivity"])


def write(tmp_path, text):
    path = tmp_path / "data.csv"
    path.write_text(text)
    return path


def test_csv_with_time_column_and_missing_cells(tmp_path):
    path = write(tmp_path, "year,a,b\n2000,,10\n2001,2,\n2002,,30\n2003,6,40\n2004,8,\n\n")
    series = load_series(path=path, time_column="year")
    assert series.name == "data"
    assert series.columns == ("a", "b")
    assert series.times.tolist() == [2000.0, 2001.0, 2002.0, 2003.0, 2004.0]
    # leading gap: nearest value; inner gaps: linear; trailing gap: nearest value
    assert series.values[:, 0].tolist() == [2.0, 2.0, 4.0, 6.0, 8.0]
    assert series.values[:, 1].tolist() == [10.0, 20.0, 30.0, 40.0, 40.0]
    assert series.filled == 4
    assert series.period is None


def test_csv_columns_order_and_row_numbers_as_times(tmp_path):
    path = write(tmp_path, "date,a,b\n2000-01,1,10\n2000-02,2,20\n2000-03,3,30\n")
    series = load_series(path=path, columns=["b", "a"], time_column="date", period=12)
    assert series.columns == ("b", "a")
    assert series.values.tolist() == [[10.0, 1.0], [20.0, 2.0], [30.0, 3.0]]
    assert series.times.tolist() == [0.0, 1.0, 2.0]  # dates are not numbers
    assert series.period == 12


def test_csv_non_numeric_cell_names_line_and_column(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,x\n5,6\n")
    with pytest.raises(RnnlabError, match=r"line 3 \(data row 2\), column 'b'.*'x'"):
        load_series(path=path)


def test_csv_errors(tmp_path):
    with pytest.raises(RnnlabError, match="first row must name the columns"):
        load_series(path=write(tmp_path, "1,2\n3,4\n5,6\n7,8\n"))
    with pytest.raises(RnnlabError, match="at least 3"):
        load_series(path=write(tmp_path, "a\n1\n2\n"))
    with pytest.raises(RnnlabError, match="expected 2 cells"):
        load_series(path=write(tmp_path, "a,b\n1,2\n3\n5,6\n"))
    with pytest.raises(RnnlabError, match="only missing"):
        load_series(path=write(tmp_path, "a,b\n1,\n2,\n3,\n"))
    with pytest.raises(ValueError, match=r"\['a', 'b'\]"):
        load_series(path=write(tmp_path, "a,b\n1,2\n3,4\n5,6\n"), columns=["c"])
    with pytest.raises(ValueError, match="time_column 't'"):
        load_series(path=write(tmp_path, "a,b\n1,2\n3,4\n5,6\n"), time_column="t")
    with pytest.raises(RnnlabError, match="does not exist"):
        load_series(path=tmp_path / "missing.csv")


@pytest.mark.parametrize("transform", ["none", "sqrt", "log1p"])
def test_scaler_round_trip_through_json(transform):
    rng = np.random.default_rng(0)
    values = rng.gamma(2.0, 3.0, size=(50, 3))
    scaler = Scaler.fit(values[:30], transform)
    restored = Scaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    scaled = restored.transform(values)
    np.testing.assert_allclose(restored.inverse(scaled), values, rtol=1e-12)
    np.testing.assert_allclose(restored.inverse(scaled[:, 2], column=2), values[:, 2], rtol=1e-12)


def test_scaler_uses_only_the_training_part():
    train = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    later = np.array([[1000.0, -7.0]])
    scaler = Scaler.fit(train, "none")
    scaled = scaler.transform(np.vstack([train, later]))
    np.testing.assert_allclose(scaled[:3, 0], np.array([-1.0, 0.0, 1.0]) * np.sqrt(1.5))
    assert scaled[:3, 1].tolist() == [0.0, 0.0, 0.0]  # constant column: std taken as 1
    assert scaled[3].tolist() == [pytest.approx((1000 - 3) / np.sqrt(8 / 3)), -12.0]


def test_scaler_transforms_and_clips():
    scaler = Scaler.fit(np.array([[0.0], [4.0], [16.0]]), "sqrt")
    np.testing.assert_allclose(scaler.mean, [2.0])  # mean of sqrt values 0, 2, 4
    assert scaler.inverse(np.array([-100.0]), column=0).tolist() == [0.0]
    with pytest.raises(RnnlabError, match=r"column 1 holds -2\.0"):
        Scaler.fit(np.array([[1.0, 2.0], [3.0, -2.0]]), "log1p")
    with pytest.raises(ValueError, match="'none', 'sqrt' or 'log1p'"):
        Scaler.fit(np.ones((3, 1)), "log")
    with pytest.raises(ValueError, match=r"\(\.\.\., 1\)"):
        scaler.transform(np.ones((3, 2)))
