"""Trained model files: written by ``flask recommender train``, loaded only when they prove the app wrote them.

A model is two files in the model directory (``RECOMMENDER_MODEL_DIR``, default ``instance/models/``):

- ``recommender-<UTC timestamp>.joblib``: the fitted scikit-learn estimator and the item statistics;
- ``recommender-<UTC timestamp>.json``: its metadata (scikit-learn version, training-data hash, metrics,
  feature spec, the SHA-256 of the ``.joblib`` file), signed with an HMAC keyed by the app's SECRET_KEY.

joblib files are pickles, and unpickling runs code, so a file is loaded only when: its name is one the app
writes (nothing else in the directory, no symlink, no other path, is ever opened as a model); the metadata's
HMAC verifies (so nobody without the secret can write or swap a pair); the metadata names that very file;
its scikit-learn version and feature spec are the running ones; and the file's SHA-256 matches the signed
one. Anything else is refused with a logged reason, and the next newest valid file is used, else the
content model. Results are memoised per file state, so a request only lists the directory.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from flask import current_app
from sklearn.linear_model import LogisticRegression

from app.recommender.outcome_model import ItemStats, OutcomeModel, feature_spec

log = logging.getLogger(__name__)

FORMAT = "dxportal.recommender/1"
NAME = re.compile(r"^recommender-(\d{8}T\d{12}Z)\.joblib$")
#: How many trained models are kept; older pairs are deleted after training.
KEEP = 5


class ModelRefused(Exception):
    """A model file failed a check; the message says which."""


def model_dir() -> Path:
    configured = current_app.config.get("RECOMMENDER_MODEL_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "models"


def _signing_key() -> bytes:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, b"dxportal.recommender.model-metadata", hashlib.sha256).digest()


def _canonical(metadata: dict[str, Any]) -> bytes:
    unsigned = {key: value for key, value in metadata.items() if key != "hmac"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(metadata: dict[str, Any]) -> str:
    return hmac.new(_signing_key(), _canonical(metadata), hashlib.sha256).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def new_version(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"recommender-{now:%Y%m%dT%H%M%S%f}Z"


def save(model: OutcomeModel, *, training_data_hash: str, metrics: dict[str, Any], n_outcomes: int,
         directory: Path | None = None, now: datetime | None = None) -> tuple[str, Path, dict[str, Any]]:
    """Write the model and its signed metadata; returns (version, model path, metadata)."""
    directory = directory or model_dir()
    directory.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now(UTC)
    version = new_version(now)
    path = directory / f"{version}.joblib"
    payload = {"format": FORMAT, "version": version, "estimator": model.estimator,
               "pillars": list(model.pillars), "content_share": model.content_share,
               "stats": model.stats.to_arrays()}
    temporary = path.with_name(f".{path.name}.tmp")
    joblib.dump(payload, temporary)
    os.replace(temporary, path)
    metadata = {
        "format": FORMAT,
        "version": version,
        "file": path.name,
        "file_sha256": file_sha256(path),
        "created_at": now.isoformat(),
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "training_data_hash": training_data_hash,
        "n_outcomes": n_outcomes,
        "metrics": metrics,
        "feature_spec": model.spec,
        "content_share": model.content_share,
    }
    metadata["hmac"] = sign(metadata)
    # The metadata is written last: a model without it is never considered.
    _write_atomic(path.with_suffix(".json"),
                  json.dumps(metadata, indent=2, sort_keys=True, ensure_ascii=False).encode())
    model.version = version
    return version, path, metadata


def verify(path: Path) -> dict[str, Any]:
    """The metadata of the model file at ``path`` if every check passes; ModelRefused says which failed."""
    if not NAME.match(path.name):
        raise ModelRefused(f"{path.name}: not a model file name the app writes")
    if path.is_symlink() or not path.is_file():
        raise ModelRefused(f"{path.name}: not a regular file")
    meta_path = path.with_suffix(".json")
    if meta_path.is_symlink() or not meta_path.is_file():
        raise ModelRefused(f"{path.name}: no metadata file")
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelRefused(f"{meta_path.name}: unreadable metadata ({error})") from error
    if not isinstance(metadata, dict) or not isinstance(metadata.get("hmac"), str):
        raise ModelRefused(f"{meta_path.name}: unsigned metadata")
    if not hmac.compare_digest(metadata["hmac"], sign(metadata)):
        raise ModelRefused(f"{meta_path.name}: metadata signature does not match (not written by this app)")
    if metadata.get("format") != FORMAT or metadata.get("file") != path.name:
        raise ModelRefused(f"{meta_path.name}: metadata describes another file")
    if metadata.get("sklearn_version") != sklearn.__version__:
        raise ModelRefused(f"{path.name}: trained with scikit-learn {metadata.get('sklearn_version')}, "
                           f"running {sklearn.__version__}")
    pillars = tuple(metadata.get("feature_spec", {}).get("pillars", ()))
    if metadata.get("feature_spec") != feature_spec(pillars):
        raise ModelRefused(f"{path.name}: its features are not the ones this version computes")
    if not hmac.compare_digest(file_sha256(path), str(metadata.get("file_sha256"))):
        raise ModelRefused(f"{path.name}: SHA-256 does not match its metadata (file changed)")
    return metadata


def load(path: Path) -> OutcomeModel:
    """Verify, then unpickle: never the other way round."""
    metadata = verify(path)
    payload = joblib.load(path)
    if not isinstance(payload, dict) or not isinstance(payload.get("estimator"), LogisticRegression):
        raise ModelRefused(f"{path.name}: unexpected content")
    raw = payload["stats"]
    stats = ItemStats(keys=tuple(tuple(key) for key in raw["keys"]), prior=float(raw["prior"]),
                      **{name: np.asarray(raw[name], dtype=float)
                         for name in ("pos", "n", "pos_sector", "n_sector", "pos_kind", "n_kind")})
    return OutcomeModel(estimator=payload["estimator"], pillars=tuple(payload["pillars"]), stats=stats,
                        version=metadata["version"], content_share=float(payload["content_share"]))


@dataclass(frozen=True)
class _State:
    signature: tuple
    model: OutcomeModel | None
    refused: str | None


_states: dict[tuple[str, str], _State] = {}
_lock = threading.Lock()


def _signature(entry: os.DirEntry, meta: Path) -> tuple | None:
    try:
        stat = entry.stat(follow_symlinks=False)
        meta_stat = meta.stat()
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino,
            meta_stat.st_size, meta_stat.st_mtime_ns, meta_stat.st_ctime_ns, meta_stat.st_ino)


def model_files(directory: Path | None = None) -> list[os.DirEntry]:
    """Model files by name (so by training time), newest first."""
    directory = directory or model_dir()
    try:
        entries = [entry for entry in os.scandir(directory) if NAME.match(entry.name)]
    except FileNotFoundError:
        return []
    return sorted(entries, key=lambda entry: entry.name, reverse=True)


def current_model(directory: Path | None = None) -> OutcomeModel | None:
    """The newest valid trained model, or None (the content model is then used)."""
    directory = directory or model_dir()
    for entry in model_files(directory):
        meta = Path(entry.path).with_suffix(".json")
        signature = _signature(entry, meta)
        if signature is None:
            continue
        key = (str(directory), entry.name)
        with _lock:
            state = _states.get(key)
        if state is None or state.signature != signature:
            try:
                state = _State(signature, load(Path(entry.path)), None)
            except ModelRefused as error:
                log.warning("Recommender model refused: %s", error)
                state = _State(signature, None, str(error))
            except Exception as error:  # a corrupt pickle that still matched its hash: refuse it too
                log.warning("Recommender model refused: %s: %s", entry.name, error)
                state = _State(signature, None, str(error))
            with _lock:
                _states[key] = state
        if state.model is not None:
            return state.model
    return None


def prune(directory: Path | None = None, keep: int = KEEP) -> list[str]:
    """Delete all but the ``keep`` newest models (and their metadata); returns the names deleted."""
    deleted = []
    for entry in model_files(directory)[keep:]:
        path = Path(entry.path)
        for victim in (path, path.with_suffix(".json")):
            victim.unlink(missing_ok=True)
        deleted.append(entry.name)
    return deleted
