"""Reading the shared real-world samples (never copied into the repository) and our own fixtures."""

import os
from decimal import Decimal
from pathlib import Path

import pytest

# ../shared/samples beside the checkout (CI has it there too); RENEWAL_DESK_SAMPLES overrides
SAMPLES = Path(os.environ.get("RENEWAL_DESK_SAMPLES",
                              Path(__file__).resolve().parents[3].parent / "shared" / "samples"))
FIXTURES = Path(__file__).parent / "fixtures"


def sample(relative: str) -> bytes:
    """The bytes of /work/shared/samples/<relative>; the test is skipped when the folder is not
    there (a checkout without the shared samples), and fails when the folder is there but the
    file is not (the samples changed under us)."""
    if not SAMPLES.is_dir():
        pytest.skip(f"the shared samples folder {SAMPLES} is missing (set RENEWAL_DESK_SAMPLES to its path)")
    path = SAMPLES / relative
    assert path.is_file(), f"sample {relative} is listed in the tests but not in {SAMPLES}"
    return path.read_bytes()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def D(value: str) -> Decimal:
    return Decimal(value)


def line_at(parsed, number: int, index: int = 0):
    """The `index`-th line whose `line` is `number` (a split camt entry gives several)."""
    found = [item for item in parsed.lines if item.line == number]
    assert len(found) > index, f"no line {number} (#{index}) in {[item.line for item in parsed.lines]}"
    return found[index]
