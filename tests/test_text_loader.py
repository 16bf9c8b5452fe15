"""The text loader over generated files (seeded numpy RNG): byte-order marks, quotes, CRLF, blank and comment
lines, a header or not, against np.loadtxt on the clean equivalent."""
import numpy as np
import pytest

from betavae.data import loading
from betavae.data.loading import DataError

CASES = 160


def render(values, rng, suffix):
    """values written as an awkward but valid text file, and the switches used."""
    delimiter = "," if suffix == ".csv" else rng.choice([" ", "\t", "  "])
    quote, crlf, bom = rng.random() < 0.4, rng.random() < 0.4, rng.random() < 0.4
    header = rng.random() < 0.5
    lines = [delimiter.join(f"c{i}" for i in range(values.shape[1]))] if header else []
    for row in values:
        tokens = [repr(float(value)) for value in row]
        if quote:
            tokens = [f'"{token}"' if rng.random() < 0.7 else token for token in tokens]
        lines.append(delimiter.join(tokens))
        if rng.random() < 0.15:
            lines.append(rng.choice(["", "   ", "# a comment"]))
    newline = "\r\n" if crlf else "\n"
    text = ("\ufeff" if bom else "") + newline.join(lines) + newline
    return text, {"quote": quote, "crlf": crlf, "bom": bom, "header": header}


def test_generated_files_load_like_loadtxt_on_the_clean_file(tmp_path):
    rng = np.random.default_rng(2026)
    seen = {switch: 0 for switch in ("quote", "crlf", "bom", "header")}
    for case in range(CASES):
        suffix = (".csv", ".txt", ".dat")[case % 3]
        values = rng.normal(scale=10.0 ** rng.integers(-3, 4), size=(rng.integers(1, 9), rng.integers(1, 6)))
        text, switches = render(values, rng, suffix)
        messy, clean = tmp_path / f"messy{case}{suffix}", tmp_path / f"clean{case}{suffix}"
        messy.write_bytes(text.encode("utf-8"))
        np.savetxt(clean, values, delimiter="," if suffix == ".csv" else " ", fmt="%.17g")
        expected = np.loadtxt(clean, delimiter="," if suffix == ".csv" else None, ndmin=2)
        np.testing.assert_array_equal(loading.load_data(str(messy)), expected, err_msg=text)
        for switch, used in switches.items():
            seen[switch] += used
    assert min(seen.values()) > CASES // 5, seen  # every kind of awkwardness was exercised


@pytest.mark.parametrize("content, fragment", [
    ("1,2\n3,4\n".encode("utf-16"), "not a text file"),
    (bytes(range(256)) * 4, "not a text file"),
    (b"1,2\n3,\xff\n", "not a UTF-8 text file"),
    (b"a,b\nc,d\n1,2\n", "row 2, column 1: 'c' is not a number"),  # only the first line may be a header
    (b"1,2\n1e39,0\n", "row 2, column 1: value 1e\\+39 overflows float32"),
    (b"a,b\n1,2\n3,nan\n", "row 3, column 2: value nan is not finite"),  # the file's line, past the header
])
def test_files_that_are_not_numeric_text_are_one_clear_error(tmp_path, content, fragment):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=fragment):
        loading.load_data(str(path))


def test_float32_overflow_in_npy_names_row_and_column(tmp_path):
    np.save(tmp_path / "big.npy", np.array([[1.0, 2.0], [3.0, -4e38]]))
    with pytest.raises(DataError, match="row 2, column 2: value -4e\\+38 overflows float32"):
        loading.load_data(str(tmp_path / "big.npy"))
