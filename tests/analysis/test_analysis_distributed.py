"""Summaries on a Dask cluster (issue 10, item 5): a 2-worker LocalCluster in real processes
gives the table pandas gives in one process, and ``sipas score … --dask`` the same scores."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from analysis_frames import SERVICE, random_wide
from click.testing import CliRunner

from analysis.cli import score as score_command
from analysis.summaries import build_summaries

distributed = pytest.importorskip("distributed")
dd = pytest.importorskip("dask.dataframe")
from analysis.distributed import build_summaries_dask  # noqa: E402  (needs dask)

pytestmark = [
    pytest.mark.slow,
    # distributed leaves an unbound probe socket unclosed while it picks ports from a range
    # (laddr 0.0.0.0:0); it is the library's, not a leak of ours.
    pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
    ),
]

#: Inside this worktree's port range (5600-5699): scheduler, workers, nannies.
SCHEDULER_PORT = 5650


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        scheduler_port=SCHEDULER_PORT,
        worker_port="5651:5660",
        port="5661:5670",  # the nannies
        dashboard_address="127.0.0.1:5671",
    )
    with cluster, distributed.Client(cluster) as connected:
        yield connected


@pytest.fixture(scope="module")
def parquet_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """Three Parquet files of one random frame with times, flags, validity and weights."""
    rng = np.random.default_rng(10)
    frame = random_wide(rng, 1500, SERVICE, units=("A", "B", "C", "D"))
    n = len(frame)
    frame["submitted_at"] = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 200 * 86400, n), unit="s"
    )
    frame["channel"] = rng.choice(["qr", "kiosk"], n)
    frame["flags"] = np.where(rng.random(n) < 0.05, "too_fast", None)
    frame["valid"] = np.where(rng.random(n) < 0.05, 0, 1)
    frame["weight"] = rng.gamma(4.0, 0.25, n)
    folder = tmp_path_factory.mktemp("responses")
    for k, part in enumerate(np.array_split(np.arange(n), 3)):
        frame.iloc[part].to_parquet(folder / f"part-{k}.parquet", index=False)
    return folder, frame


def test_partitions_on_two_workers_add_up_to_the_pandas_table(
    client: distributed.Client, parquet_dir: tuple[Path, pd.DataFrame]
) -> None:
    folder, frame = parquet_dir
    by = ["unit_code", "channel", "day"]
    lazy = dd.read_parquet(sorted(str(p) for p in folder.glob("*.parquet")))
    assert lazy.npartitions >= 2
    spread = build_summaries_dask(lazy, SERVICE, by=by)
    whole = build_summaries(frame, SERVICE, by=by)
    assert len(client.scheduler_info()["workers"]) == 2
    pd.testing.assert_frame_equal(spread.table, whole.table, check_exact=True)
    assert spread.basis == whole.basis
    weighted = build_summaries_dask(lazy, SERVICE, by=by, weights="weight")
    expected = build_summaries(frame, SERVICE, by=by, weights="weight")
    pd.testing.assert_frame_equal(weighted.table, expected.table, check_exact=False, rtol=1e-12)


def test_sipas_score_with_dask_gives_the_scores_of_the_rows(
    client: distributed.Client, parquet_dir: tuple[Path, pd.DataFrame]
) -> None:
    folder, _ = parquet_dir
    files = [str(p) for p in sorted(folder.glob("*.parquet"))]
    options = ["--by", "unit,period", "--decimals", "10", "--min-n", "5"]
    runner = CliRunner()
    on_cluster = runner.invoke(
        score_command, [*files, "--dask", client.scheduler.address, *options]
    )
    assert on_cluster.exit_code == 0, on_cluster.output
    here = runner.invoke(score_command, [*files, *options])
    assert here.exit_code == 0, here.output
    a = pd.read_csv(StringIO(on_cluster.output))
    b = pd.read_csv(StringIO(here.output))
    assert len(a) == 4 * 7 * 29  # units × months × rows of the service form
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)


def test_an_unreachable_scheduler_is_a_clear_error(
    parquet_dir: tuple[Path, pd.DataFrame],
) -> None:
    folder, _ = parquet_dir
    files = [str(p) for p in sorted(folder.glob("*.parquet"))]
    result = CliRunner().invoke(score_command, [*files, "--dask", "tcp://127.0.0.1:5699"])
    assert result.exit_code == 2
    assert "cannot reach the Dask scheduler tcp://127.0.0.1:5699" in result.output
