"""The benchmark scripts end to end, in a tiny configuration (their real runs are `make bench` / `make compare`)."""

import copy

import numpy as np
import pytest
from conftest import REPO_ROOT, load_module

from tables import markers

cells = load_module(REPO_ROOT / "benchmarks" / "cells.py")


def test_cells_benchmark_runs_every_cell_and_refuses_to_publish_quick_runs(tmp_path):
    readme = tmp_path / "README.md"
    start, end = markers(cells.TABLE)
    readme.write_text(f"intro\n{start}\n{end}\n")
    record = cells.main(
        [
            *("--tasks", "sine", "--quick", "--outputs", str(tmp_path / "runs")),
            *("--record", str(tmp_path / "cells.json"), "--plot", str(tmp_path / "cells.png"), "--readme", str(readme)),
        ]
    )
    assert sorted(record["runs"]) == ["sine/gru", "sine/lstm", "sine/simple_rnn"]
    for (run,) in record["runs"].values():
        assert len(run["elapsed_s"]) == len(run["val_loss"]) == run["epochs"]
        epoch_seconds = np.diff([0.0, *run["elapsed_s"]])  # the curve's time axis adds up the epochs' times
        assert run["seconds_per_epoch"] == pytest.approx(float(np.median(epoch_seconds)))
    # LSTM has four weight blocks per unit where SimpleRNN has one, GRU three
    sizes = {cell: record["runs"][f"sine/{cell}"][0]["parameters"] for cell in cells.CELLS}
    assert sizes["simple_rnn"] < sizes["gru"] < sizes["lstm"]
    assert (tmp_path / "cells.png").stat().st_size > 1000 and (tmp_path / "cells.json").exists()
    assert readme.read_text() == f"intro\n{start}\n{end}\n"  # quick runs never reach the README
    with pytest.raises(ValueError, match="--quick runs"):
        cells.render_table(record)
    published = copy.deepcopy(record)  # the same record as if from full runs: every row renders
    for (run,) in published["runs"].values():
        run["quick"] = False
    table = cells.render_table(published)
    assert [line.split(" | ")[1] for line in table.splitlines()[2:5]] == list(cells.CELLS)
