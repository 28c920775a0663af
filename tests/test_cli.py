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
