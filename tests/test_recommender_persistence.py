"""Trained model files: written signed, the newest valid one used, anything tampered with refused."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from app import recommender
from app.extensions import db
from app.recommender import demo_outcomes, outcome_model, persistence, snapshot
from tests.recommender_factories import WEAK_DATA, partner, profile, programme, synthetic_records

ON = date(2026, 6, 15)


@pytest.fixture
def model_dir(app, tmp_path, monkeypatch):
    """Models go to a fresh folder for this test."""
    directory = tmp_path / "models"
    monkeypatch.setitem(app.config, "RECOMMENDER_MODEL_DIR", str(directory))
    return directory


@pytest.fixture
def catalogue():
    for pillar in ("data", "customer", "operations", "culture"):
        programme(code=f"S-{pillar.upper()}", pillars=[pillar])
        partner(code=f"P-S-{pillar.upper()}", pillars=[pillar])
    return snapshot.current()


def _save(snap, directory, when: datetime, seed: int = 0):
    model = outcome_model.fit(synthetic_records(snap, seed=seed), snap, seed=seed)
    version, path, _ = persistence.save(model, training_data_hash="test", metrics={"auc": 0.5}, n_outcomes=240,
                                        directory=directory, now=when)
    return version, path


T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def test_a_saved_model_is_loaded_and_named_in_the_recommendations(model_dir, catalogue):
    version, path = _save(catalogue, model_dir, T0)
    assert path.name == f"{version}.joblib" and path.with_suffix(".json").is_file()
    assert version == "recommender-20260601T080000000000Z"
    metadata = json.loads(path.with_suffix(".json").read_text())
    assert {"sklearn_version", "training_data_hash", "metrics", "feature_spec", "file_sha256", "hmac"} <= set(metadata)
    result = recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON)
    assert result.model_version == version
    assert all(1 <= len(item.reasons) <= 3 for item in (*result.programmes, *result.partners))


def test_the_newest_valid_model_is_used(model_dir, catalogue):
    _save(catalogue, model_dir, T0)
    newer, _ = _save(catalogue, model_dir, T0 + timedelta(days=1), seed=1)
    assert persistence.current_model().version == newer


def test_no_model_means_the_content_model(model_dir, catalogue):
    assert persistence.current_model() is None
    assert recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON).model_version == "content-1"


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_model_file_with_a_flipped_byte_is_refused_and_the_content_model_used(model_dir, catalogue, caplog):
    _, path = _save(catalogue, model_dir, T0)
    assert persistence.current_model() is not None
    _flip_a_byte(path)
    assert persistence.current_model() is None
    assert recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON).model_version == "content-1"
    assert "SHA-256 does not match" in caplog.text


def test_a_refused_newest_model_falls_back_to_the_previous_valid_one(model_dir, catalogue):
    older, _ = _save(catalogue, model_dir, T0)
    _, newest_path = _save(catalogue, model_dir, T0 + timedelta(hours=1), seed=1)
    _flip_a_byte(newest_path)
    assert persistence.current_model().version == older


def _rewrite_metadata(path: Path, change, resign: bool) -> None:
    meta_path = path.with_suffix(".json")
    metadata = json.loads(meta_path.read_text())
    change(metadata)
    if resign:
        metadata["hmac"] = persistence.sign(metadata)
    meta_path.write_text(json.dumps(metadata))


def test_another_scikit_learn_version_is_refused_even_when_properly_signed(model_dir, catalogue):
    _, path = _save(catalogue, model_dir, T0)
    _rewrite_metadata(path, lambda m: m.update(sklearn_version="0.24.2"), resign=True)
    with pytest.raises(persistence.ModelRefused, match=r"scikit-learn 0\.24\.2"):
        persistence.verify(path)
    assert persistence.current_model() is None


def test_metadata_changed_without_the_secret_is_refused(model_dir, catalogue):
    _, path = _save(catalogue, model_dir, T0)
    # Someone edits the recorded hash to match a file of their own: the HMAC no longer verifies.
    _rewrite_metadata(path, lambda m: m.update(file_sha256="0" * 64), resign=False)
    with pytest.raises(persistence.ModelRefused, match="signature"):
        persistence.verify(path)
    assert persistence.current_model() is None


def test_metadata_signed_with_another_secret_is_refused(app, model_dir, catalogue, monkeypatch):
    _, path = _save(catalogue, model_dir, T0)
    monkeypatch.setitem(app.config, "SECRET_KEY", "another-installation-secret-key-0123456789")
    with pytest.raises(persistence.ModelRefused, match="signature"):
        persistence.verify(path)


def test_a_swapped_pair_is_refused(model_dir, catalogue):
    _, first = _save(catalogue, model_dir, T0)
    _, second = _save(catalogue, model_dir, T0 + timedelta(hours=1), seed=1)
    # The newer model file is replaced by the older one (both genuine, signed files).
    second.write_bytes(first.read_bytes())
    with pytest.raises(persistence.ModelRefused, match="SHA-256"):
        persistence.verify(second)
    # And a metadata file copied onto another model's name describes another file.
    second.with_suffix(".json").write_bytes(first.with_suffix(".json").read_bytes())
    with pytest.raises(persistence.ModelRefused, match="another file"):
        persistence.verify(second)
    assert persistence.current_model().version == first.stem


def test_a_changed_feature_spec_is_refused(model_dir, catalogue):
    _, path = _save(catalogue, model_dir, T0)
    _rewrite_metadata(path, lambda m: m["feature_spec"].update(version=0), resign=True)
    with pytest.raises(persistence.ModelRefused, match="features"):
        persistence.verify(path)


class _Boom:
    """A pickle that would create a file when loaded."""

    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


def test_files_the_app_did_not_write_are_never_unpickled(model_dir, catalogue, tmp_path):
    model_dir.mkdir(parents=True)
    marker = tmp_path / "pwned"
    for name in ("model.joblib", "recommender-latest.joblib", "recommender-99999999T999999999999Z.pkl"):
        (model_dir / name).write_bytes(pickle.dumps(_Boom(str(marker))))
    # Even a file with the right name is not unpickled without valid signed metadata.
    forged = model_dir / "recommender-29990101T000000000000Z.joblib"
    forged.write_bytes(pickle.dumps(_Boom(str(marker))))
    forged.with_suffix(".json").write_text(json.dumps({"hmac": "0" * 64, "file": forged.name}))
    assert persistence.current_model() is None
    assert not marker.exists()


def test_a_symlinked_model_is_refused(model_dir, catalogue, tmp_path):
    _, path = _save(catalogue, model_dir, T0)
    link = model_dir / "recommender-29990101T000000000000Z.joblib"
    link.symlink_to(path)
    link.with_suffix(".json").symlink_to(path.with_suffix(".json"))
    with pytest.raises(persistence.ModelRefused, match="regular file"):
        persistence.verify(link)
    assert persistence.current_model().version == path.stem


def test_prune_keeps_the_newest(model_dir, catalogue):
    for hour in range(7):
        _save(catalogue, model_dir, T0 + timedelta(hours=hour))
    deleted = persistence.prune(model_dir, keep=5)
    assert len(deleted) == 2
    oldest_kept = [entry.name for entry in persistence.model_files(model_dir)][-1]
    assert oldest_kept == "recommender-20260601T100000000000Z.joblib"
    assert len(list(model_dir.glob("*.json"))) == 5


def test_train_command_writes_a_model_the_app_then_uses(runner, model_dir):
    for number, pillar in enumerate(("data", "customer", "operations", "culture")):
        programme(code=f"TRAIN-{number}", pillars=[pillar])
        partner(code=f"P-TRAIN-{number}", pillars=[pillar])
    demo_outcomes.generate(extra_organisations=10, today=date(2026, 11, 1))
    db.session.commit()
    first = runner.invoke(args=["recommender", "train"])
    assert first.exit_code == 0, first.output
    assert "Trained recommender-" in first.output and "holdout_auc" in first.output
    files = persistence.model_files(model_dir)
    assert len(files) == 1
    metadata = json.loads(Path(files[0].path).with_suffix(".json").read_text())
    assert metadata["metrics"]["training_outcomes"] > 20
    assert len(metadata["training_data_hash"]) == 64
    version = Path(files[0].path).stem
    assert recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON).model_version == version
    second = runner.invoke(args=["recommender", "train"])
    assert second.exit_code == 0, second.output
    newest = persistence.model_files(model_dir)[0].name
    assert newest > files[0].name
    assert recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON).model_version == Path(newest).stem
    # The same outcomes give the same training-data hash.
    newest_meta = json.loads((model_dir / newest).with_suffix(".json").read_text())
    assert newest_meta["training_data_hash"] == metadata["training_data_hash"]


def test_train_without_enough_outcomes_keeps_the_content_model(runner, model_dir):
    result = runner.invoke(args=["recommender", "train"])
    assert result.exit_code == 1
    assert "content model stays in use" in result.output
    assert persistence.model_files(model_dir) == []
