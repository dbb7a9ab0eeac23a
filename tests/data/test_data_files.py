"""``dataset: file``: the user's .npz, .pt and .csv files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hpsearch.data import load_data
from hpsearch.data.load import model_input_shape
from hpsearch.errors import ConfigError, DataError
from hpsearch.space.config import DataConfig, parse_config


def blobs(n: int = 200, features: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, features)) * 5 + 100 + y[:, None] * 10
    return x, y


def test_npz_with_test_split_is_flattened_standardized_and_split(tmp_path):
    x, y = blobs()
    path = tmp_path / "d.npz"
    np.savez(path, x=x.reshape(200, 2, 2), y=y, x_test=x[:30].reshape(30, 2, 2), y_test=y[:30])
    data = load_data(DataConfig(dataset="file", path=str(path), val_fraction=0.25))
    assert data.input_dim == 4 and data.num_classes == 3
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (150, 50, 30)
    train_all = torch.cat([data.x_train, data.x_val])
    assert torch.allclose(train_all.mean(0), torch.zeros(4), atol=1e-4), "standardized with the training split's stats"
    assert data.info["classes"] == ["0", "1", "2"]
    assert data.preprocessing.input_shape == (2, 2) and data.input_shape == (4,)  # flat for the MLP; its shape kept aside
    flat = data.x_train.clone()
    data.unflatten(model_input_shape(data, "file"))  # for your own model (``model:``): every split shaped, as views
    assert data.input_shape == (2, 2) and data.x_test.shape == (30, 2, 2) and data.input_dim == 4
    assert torch.equal(data.x_train.reshape(150, 4), flat)


def test_string_labels_are_mapped_in_sorted_order_and_recorded(tmp_path):
    x, y = blobs()
    names = np.array(["dog", "cat", "emu"])[y]
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=names)
    data = load_data(DataConfig(dataset="file", path=str(path)))
    assert data.info["classes"] == ["cat", "dog", "emu"] and data.num_classes == 3
    assert "strings mapped" in data.info["labels"]


@pytest.mark.parametrize("as_tuple", [True, False])
def test_pt_file_as_dict_or_tuple(tmp_path, as_tuple):
    x, y = blobs()
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    content = (xt, yt) if as_tuple else {"x": xt, "y": yt}
    torch.save(content, tmp_path / "d.pt")
    data = load_data(DataConfig(dataset="file", path=str(tmp_path / "d.pt")))
    assert data.num_classes == 3 and len(data.y_train) + len(data.y_val) == 200 and data.y_test is None


def test_csv_with_a_named_string_target(tmp_path):
    x, y = blobs(60)
    lines = ["f1,f2,species,f3,f4"]
    for row, label in zip(x, y, strict=True):
        lines.append(f"{row[0]},{row[1]},{['setosa', 'virginica', 'versicolor'][label]},{row[2]},{row[3]}")
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n")
    data = load_data(DataConfig(dataset="file", path=str(path), target="species"))
    assert data.input_dim == 4 and data.info["classes"] == ["setosa", "versicolor", "virginica"]


def test_csv_with_a_non_numeric_feature_names_the_line_and_column(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,label\n1.0,0\nhello,1\n")
    with pytest.raises(DataError, match=r"line 3, column 'a': 'hello' is not a number"):
        load_data(DataConfig(dataset="file", path=str(path)))


def test_csv_without_the_target_column_lists_the_columns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,class\n1,2,0\n")
    with pytest.raises(DataError, match=r"no label column 'label' \(data.target\); the columns are a, b, class"):
        load_data(DataConfig(dataset="file", path=str(path)))


@pytest.mark.parametrize("labels, classes", [
    (np.array([1, 2, 3]), ["1", "2", "3"]),       # 1..3: class 0 is label 1
    (np.array([-1, 1, 1]), ["-1", "1", "1"]),     # -1/1 (two classes; the third entry repeats)
    (np.array([2, 9, 10]), ["2", "9", "10"]),     # in increasing order, not as strings ("10" < "2")
])
def test_integer_labels_that_are_not_0_to_c_minus_1_are_mapped_in_increasing_order(tmp_path, labels, classes):
    x, y = blobs()
    np.savez(tmp_path / "d.npz", x=x, y=labels[y])
    data = load_data(DataConfig(dataset="file", path=str(tmp_path / "d.npz")))
    assert data.info["classes"] == sorted(set(classes), key=int)
    assert "integers mapped to 0..C-1 in increasing order" in data.info["labels"]
    everything = torch.cat([data.y_train, data.y_val])
    assert sorted(set(everything.tolist())) == list(range(len(set(classes))))


def test_a_test_label_outside_the_training_labels_0_to_c_minus_1_is_out_of_range(tmp_path):
    x, y = blobs()
    np.savez(tmp_path / "d.npz", x=x, y=y, x_test=x[:10], y_test=np.arange(10) % 4)
    with pytest.raises(DataError, match=r"\(y_test\): labels out of range: found 0\.\.3, but labels must be integers 0\.\.2"):
        load_data(DataConfig(dataset="file", path=str(tmp_path / "d.npz")))


def test_npz_arrays_under_scikit_learn_names_or_named_by_keys(tmp_path):
    x, y = blobs()
    np.savez(tmp_path / "sk.npz", X=x, Y=y, X_test=x[:20], Y_test=y[:20])
    data = load_data(DataConfig(dataset="file", path=str(tmp_path / "sk.npz")))
    assert (data.input_dim, data.num_classes, len(data.y_test)) == (4, 3, 20)
    np.savez(tmp_path / "own.npz", features=x, target=y)
    data = load_data(DataConfig(dataset="file", path=str(tmp_path / "own.npz"), x_key="features", y_key="target"))
    assert (data.input_dim, data.num_classes) == (4, 3)
    with pytest.raises(DataError, match=r"own.npz: needs x or X \(or data.x_key\); the arrays are features, target"):
        load_data(DataConfig(dataset="file", path=str(tmp_path / "own.npz")))
    with pytest.raises(DataError, match=r"data.y_key is 'label', but the arrays are features, target"):
        load_data(DataConfig(dataset="file", path=str(tmp_path / "own.npz"), x_key="features", y_key="label"))


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_csv_delimiter_is_detected(tmp_path, delimiter):
    x, y = blobs(n=60)
    lines = [delimiter.join(["id", "a", "b", "c", "d", "label"])]
    lines += [delimiter.join([str(i), *(f"{v:.3f}" for v in row), str(label)]) for i, (row, label) in enumerate(zip(x, y, strict=True))]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    data = load_data(DataConfig(dataset="file", path=str(tmp_path / "d.csv"), drop=["id"]))
    assert data.input_dim == 4, "id dropped, four features"
    given = load_data(DataConfig(dataset="file", path=str(tmp_path / "d.csv"), delimiter=delimiter))
    assert given.input_dim == 5, "without drop, id is a feature"


def test_drop_names_a_column_that_is_not_a_feature(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,label\n1,2,x\n3,4,y\n")
    with pytest.raises(DataError, match=r"data.drop names 'id', 'label', not a feature column; the columns are a, b, label"):
        load_data(DataConfig(dataset="file", path=str(tmp_path / "d.csv"), drop=["id", "label"]))


def test_non_integer_labels_are_refused(tmp_path):
    x, _ = blobs()
    np.savez(tmp_path / "d.npz", x=x, y=np.linspace(0, 1, 200))
    with pytest.raises(DataError, match=r"labels must be integers 0\.\.C-1 or strings"):
        load_data(DataConfig(dataset="file", path=str(tmp_path / "d.npz")))


@pytest.mark.parametrize("data, match", [
    ({"dataset": "file"}, r"data.path: dataset: file needs path"),
    ({"dataset": "file", "path": "x.txt"}, r"data.path: must be a file path ending in .npz, .pt, .csv"),
    ({"dataset": "mnist", "path": "x.csv"}, r"data.path: applies only to dataset: file, not to dataset 'mnist'"),
    ({"dataset": "file", "path": "x.npz", "target": "y"}, r"data.target: applies only to dataset: file with a .csv"),
    ({"dataset": "synthetic", "root": "/data"}, r"data.root: applies only to the torchvision datasets"),
    ({"dataset": "file", "path": "x.npz", "drop": ["id"]}, r"data.drop: applies only to dataset: file with a .csv"),
    ({"dataset": "file", "path": "x.csv", "drop": "id"}, r"data.drop: must be a list of column names, got 'id'"),
    ({"dataset": "file", "path": "x.csv", "delimiter": ";;"}, r"data.delimiter: must be a single character"),
    ({"dataset": "file", "path": "x.csv", "x_key": "X"}, r"data.x_key: applies only to dataset: file with a .npz or .pt"),
    ({"dataset": "mnist", "download": "yes"}, r"data.download: must be true or false"),
])
def test_data_keys_are_checked_against_the_dataset(data, match):
    with pytest.raises(ConfigError, match=match):
        parse_config({"name": "x", "data": data})


def test_data_section_round_trips_through_config_yaml():
    cfg = parse_config({"name": "x", "test": True, "data": {"dataset": "file", "path": "d.csv", "target": "kind"}})
    again = cfg.with_overrides(trials=2)
    assert again.data == cfg.data and again.test is True
    mnist = parse_config({"name": "x", "data": {"dataset": "mnist", "root": "/d", "download": False}}).with_overrides(seed=3)
    assert (mnist.data.root, mnist.data.download, mnist.data.path) == ("/d", False, None)


def test_a_relative_data_path_is_written_absolute_so_resume_finds_it_from_anywhere(tmp_path, monkeypatch):
    import yaml

    from hpsearch import run_search

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(80, 3)).astype("float32"), y=np.arange(80) % 2)
    cfg = parse_config({"name": "x", "trials": 1, "epochs": 1, "device": "cpu",
                        "data": {"dataset": "file", "path": "d.npz"}, "fixed": {"batch_size": 16}})
    run_search(cfg, tmp_path / "run")
    written = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["data"]["path"]
    assert written == str(tmp_path / "d.npz")
