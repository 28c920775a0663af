import csv
import gzip
import json

import joblib
import pytest

from skgnas._cli import main

SPACE = json.dumps({"layer_type": ["bag", "dense"]})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, spam_small):
    """The small spam subset as JSON lines, with custom field names."""
    path = tmp_path_factory.mktemp("data") / "mail.jsonl.gz"
    texts, labels = spam_small
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for text, label in zip(texts, labels):
            out.write(json.dumps({"body": text, "kind": str(label)}) + "\n")
    return path


@pytest.fixture(scope="module")
def searched(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    code = main([
        "search", str(corpus), "--text-column", "body", "--label-column",
        "kind", "--space", SPACE, "--n-trials", "2", "--cv", "2",
        "--max-epochs", "1", "--vector-size", "16", "--max-len", "60",
        "--n-jobs", "1", "--output-dir", str(out),
    ])
    return code, out


def test_search_writes_model_results_and_summary(searched, capsys):
    code, out = searched
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["best_architecture"]["layer_type"] in ("bag", "dense")
    assert 0 <= summary["test_accuracy"] <= 1
    with open(out / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and rows[0]["rank_test_score"] == "1"
    model = joblib.load(out / "model.joblib")
    assert model.best_architecture_ == summary["best_architecture"]


def test_predict_writes_one_label_per_document(searched, corpus, tmp_path):
    _, out = searched
    target = tmp_path / "pred.csv"
    code = main(["predict", str(out / "model.joblib"), str(corpus),
                 "--text-column", "body", "--output", str(target)])
    assert code == 0
    with open(target, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["prediction"]
    with gzip.open(corpus, "rt") as lines:
        assert len(rows) - 1 == sum(1 for _ in lines)
    assert {r[0] for r in rows[1:]} <= {"ham", "spam"}


def test_csv_input_and_a_missing_column_error(tmp_path, capsys):
    path = tmp_path / "data.csv"
    path.write_text("message,label\nhello there,a\n")
    code = main(["search", str(path), "--output-dir", str(tmp_path)])
    assert code == 2
    assert "line 2 has no field 'text'" in capsys.readouterr().err


def test_bad_space_is_reported_not_raised(corpus, tmp_path, capsys):
    code = main(["search", str(corpus), "--text-column", "body",
                 "--label-column", "kind", "--space",
                 '{"layer_type": ["transformer"]}',
                 "--output-dir", str(tmp_path)])
    assert code == 2
    assert "invalid value 'transformer'" in capsys.readouterr().err


def test_strategy_options_and_several_metrics_reach_the_search(
    corpus, tmp_path
):
    code = main([
        "search", str(corpus), "--text-column", "body", "--label-column",
        "kind", "--space", SPACE, "--strategy", "halving",
        "--strategy-options", '{"rank_by": "neg_log_loss", "eta": 2}',
        "--scoring", "accuracy,neg_log_loss", "--n-trials", "2",
        "--cv", "2", "--max-epochs", "2", "--vector-size", "16",
        "--max-len", "60", "--n-jobs", "1", "--output-dir", str(tmp_path),
    ])
    assert code == 0
    model = joblib.load(tmp_path / "model.joblib")
    assert model.strategy_options == {"rank_by": "neg_log_loss", "eta": 2}
    assert model.refit == "accuracy"
    with open(tmp_path / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {"rank_test_accuracy", "mean_test_neg_log_loss"} <= set(rows[0])
    assert [row["rank_test_accuracy"] for row in rows][0] == "1"
    assert all(float(row["mean_test_neg_log_loss"]) <= 0 for row in rows)


@pytest.mark.parametrize("flags, message", [
    (["--strategy-options", "{rank_by: 1}"], "--strategy-options expects JSON"),
    (["--scoring", "accuracy,,f1"], "--scoring expects scorer names"),
    (["--strategy-options", "[1, 2]"],
     "strategy_options expects a dict of settings or None; received [1, 2]"),
])
def test_malformed_options_are_reported(corpus, tmp_path, capsys, flags,
                                        message):
    code = main(["search", str(corpus), "--text-column", "body",
                 "--label-column", "kind", *flags,
                 "--output-dir", str(tmp_path)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "model.joblib").exists()
