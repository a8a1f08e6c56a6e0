"""Unit tests of common/data.py: where data lives, downloads, checksums, clear errors."""

import pytest

from common import data
from common.data import DataNotFoundError, fetch, file_hash, resolve_data_dir


def test_data_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    assert resolve_data_dir() == data.REPO_ROOT / "data"
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path / "from_env"))
    assert resolve_data_dir() == tmp_path / "from_env"
    assert resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert (tmp_path / "explicit").is_dir()


def test_fetch_downloads_and_verifies(tmp_path):
    source = tmp_path / "source.txt"
    source.write_text("hello")
    target_dir = tmp_path / "data"
    path = fetch("copy.txt", source.as_uri(), target_dir, checksum=file_hash(source))
    assert path.read_text() == "hello"
    # A present file with the right checksum is used without touching the URL.
    source.unlink()
    assert fetch("copy.txt", source.as_uri(), target_dir, checksum=file_hash(path, "md5")) == path


def test_missing_file_without_network_names_file_url_and_place(tmp_path):
    url = (tmp_path / "nowhere" / "set.tar.gz").as_uri()
    with pytest.raises(DataNotFoundError) as error:
        fetch("set.tar.gz", url, tmp_path)
    message = str(error.value)
    assert "set.tar.gz is missing" in message and url in message and "--data-dir" in message


def test_damaged_file_is_redownloaded_or_reported(tmp_path):
    good = tmp_path / "good.bin"
    good.write_bytes(b"real data")
    checksum = file_hash(good)
    damaged = tmp_path / "data" / "set.bin"
    damaged.parent.mkdir()
    damaged.write_bytes(b"real da")  # a truncated download
    assert fetch("set.bin", good.as_uri(), damaged.parent, checksum=checksum).read_bytes() == b"real data"
    damaged.write_bytes(b"real da")
    with pytest.raises(DataNotFoundError, match="damaged"):
        fetch("set.bin", (tmp_path / "gone.bin").as_uri(), damaged.parent, checksum=checksum)


def test_hash_algorithm_by_length():
    assert data.hash_algorithm("0" * 32) == "md5" and data.hash_algorithm("0" * 64) == "sha256"
    with pytest.raises(ValueError, match="neither md5"):
        data.hash_algorithm("abc")


def test_project_corpus_folder_wins_over_a_zipped_copy_elsewhere(tmp_path, monkeypatch):
    """A zip in another NLTK folder must not shadow the plain folder in the project's data directory."""
    import zipfile

    import nltk

    from common.data import nltk_corpus

    elsewhere = tmp_path / "elsewhere" / "corpora"
    elsewhere.mkdir(parents=True)
    with zipfile.ZipFile(elsewhere / "toycorpus.zip", "w") as archive:
        archive.writestr("toycorpus/README", "the other copy")
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "elsewhere")])
    ours = tmp_path / "data" / "nltk_data" / "corpora" / "toycorpus"
    ours.mkdir(parents=True)
    (ours / "README").write_text("our copy")
    root = nltk_corpus("toycorpus", tmp_path / "data")
    assert root.join("README").open().read() == b"our copy"
    # Without a copy of ours, NLTK's other folders are searched.
    (ours / "README").unlink()
    ours.rmdir()
    assert b"the other copy" in nltk_corpus("toycorpus", tmp_path / "data").join("README").open().read()
