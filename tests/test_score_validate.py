import numpy as np
import pandas as pd
import pytest

from vocvision.submission import (
    ScoreError,
    read_submission,
    score_submission,
    validate_submission,
    write_submission,
)


def _write(path, rows):
    pd.DataFrame(rows, columns=["Id", "Predicted"]).to_csv(path, index=False)


def test_score_hand_computed(tmp_path):
    truth, sub = tmp_path / "solution.csv", tmp_path / "submission.csv"
    _write(
        truth,
        [
            ("1_classification", "1 2"),
            ("1_segmentation", "2 3"),
            ("2_classification", ""),
            ("2_segmentation", "1 4"),
        ],
    )
    _write(
        sub,
        [
            ("1_classification", "1 2"),
            ("1_segmentation", "1 3"),
            ("2_classification", ""),
            ("2_segmentation", ""),
        ],
    )
    score = score_submission(sub, tmp_path)  # a folder holding solution.csv works too
    assert score.classification == pytest.approx(1.0)  # exact match, both empty
    assert score.segmentation == pytest.approx((2 * 2 / 6 + 0.0) / 2)
    assert score.overall == pytest.approx((1 + 1 + 2 / 3 + 0) / 4)


def test_score_reports_missing_rows(tmp_path):
    _write(tmp_path / "solution.csv", [("1_classification", "1 1"), ("1_segmentation", "")])
    _write(tmp_path / "sub.csv", [("1_classification", "1 1")])
    with pytest.raises(ScoreError, match="1_segmentation"):
        score_submission(tmp_path / "sub.csv", tmp_path / "solution.csv")


def test_writer_matches_starter_layout(tmp_path, rng):
    masks = [rng.integers(0, 3, size=(4, 5)).astype(np.uint8) for _ in range(2)]
    labels = np.array([[1, 0], [0, 0]])
    table = write_submission(tmp_path / "s.csv", ["7", "8"], labels, masks, 2)
    assert list(table.index) == [
        "7_classification",
        "7_segmentation",
        "8_classification",
        "8_segmentation",
    ]
    assert table.at["7_classification", "Predicted"] == "1 1"
    assert table.at["8_classification", "Predicted"] == ""
    text = (tmp_path / "s.csv").read_text().splitlines()
    assert text[0] == "Id,Predicted" and text[3] == "8_classification,"
    assert read_submission(tmp_path / "s.csv").at["8_classification", "Predicted"] == ""


def test_validator(tmp_path):
    path = tmp_path / "s.csv"
    _write(path, [("1_classification", "1 2"), ("1_segmentation", "3 4")])
    assert validate_submission(path, ["1"], {"1": (2, 10)}) == []
    assert any("past" in p for p in validate_submission(path, ["1"], {"1": (1, 10)}))
    assert any("missing" in p for p in validate_submission(path, ["1", "2"]))
    _write(path, [("1_classification", "1 2 2 1"), ("1_segmentation", "x")])
    problems = validate_submission(path, ["1"])
    assert len(problems) == 2
    (tmp_path / "bad.csv").write_text("Id,Pred\n1_classification,\n")
    assert "header" in validate_submission(tmp_path / "bad.csv", ["1"])[0]
