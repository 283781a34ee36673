"""safetensors files: round trips, atomic writes, and clear errors on bad files."""

import json
import os
import struct

import numpy as np
import pytest

pytest.importorskip("safetensors")

from fastdense.serialization import load_arrays, save_arrays  # noqa: E402


def _arrays():
    rng = np.random.default_rng(0)
    return {
        "2.weight": rng.standard_normal((3, 4)).astype(np.float32),
        "0.weight": rng.standard_normal((4, 5)),
        "0.bias": np.arange(4, dtype=np.int64),
        "flags": np.array([True, False]),
    }


def test_round_trip_keeps_values_dtypes_order_and_metadata(tmp_path):
    path = tmp_path / "m.safetensors"
    arrays = _arrays()
    save_arrays(arrays, path, metadata={"kind": "test"})
    loaded, meta = load_arrays(path)
    assert list(loaded) == list(arrays)
    for name, value in arrays.items():
        assert loaded[name].dtype == value.dtype
        np.testing.assert_array_equal(loaded[name], value)
    assert meta["kind"] == "test" and "fastdense_version" in meta


def test_file_is_readable_by_plain_safetensors(tmp_path):
    from safetensors.numpy import load_file

    path = tmp_path / "m.safetensors"
    save_arrays(_arrays(), path)
    np.testing.assert_array_equal(load_file(str(path))["0.weight"], _arrays()["0.weight"])


def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "m.safetensors"
    save_arrays({"a": np.ones(3)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        save_arrays({"a": np.ones(3), "b": np.array(["text"])}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.safetensors"]


@pytest.mark.parametrize("cut", [0, 5, 8, 20, -1])
def test_truncated_files_raise_value_error(tmp_path, cut):
    path = tmp_path / "m.safetensors"
    save_arrays(_arrays(), path)
    blob = path.read_bytes()
    path.write_bytes(blob[:cut] if cut >= 0 else blob[:-7])
    with pytest.raises(ValueError, match="truncated|not a valid|malformed|outside"):
        load_arrays(path)


def _write_header(path, header, data=b""):
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


@pytest.mark.parametrize(
    "header, data, message",
    [
        ("not a dict", b"", "not a JSON object"),
        ({"w": {"dtype": "F32", "shape": [2]}}, b"\0" * 8, "lacks"),
        ({"w": {"dtype": "X9", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, "unknown dtype"),
        (
            {"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}},
            b"\0" * 8,
            "does not match",
        ),
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 80]}}, b"\0" * 8, "outside"),
        (
            {"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}},
            b"\0" * 8,
            "invalid shape",
        ),
        (
            {
                "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
            },
            b"\0" * 12,
            "overlap",
        ),
    ],
)
def test_malformed_headers_raise_value_error(tmp_path, header, data, message):
    path = tmp_path / "bad.safetensors"
    _write_header(path, header, data)
    with pytest.raises(ValueError, match=message):
        load_arrays(path)


def test_garbage_json_and_huge_header_length(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", 5) + b"{oops")
    with pytest.raises(ValueError, match="malformed"):
        load_arrays(path)
    path.write_bytes(struct.pack("<Q", 2**60) + b"{}")
    with pytest.raises(ValueError, match="exceeds"):
        load_arrays(path)
