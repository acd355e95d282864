"""engine.keep_freed_memory: freed buffers are reused, not mapped and faulted in again."""
import subprocess
import sys

import pytest

import engine

# 100 rounds of sixteen 1 MiB buffers, each touched and all freed, as torch's forward passes
# allocate and free their activations: the page faults of the rounds after a warm-up
PATTERN = """
import resource, numpy as np
def faults(rounds):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        buffers = [np.empty(1 << 20, np.uint8) for _ in range(16)]
        for b in buffers:
            b.fill(1)
        del buffers
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
faults(2)
print(faults(100))
"""


def _faults(prelude: str) -> int:
    out = subprocess.run([sys.executable, "-c", prelude + PATTERN], capture_output=True,
                         text=True, check=True, env={"PATH": "/usr/bin:/bin"})
    return int(out.stdout)


@pytest.mark.skipif(not engine.keep_freed_memory(), reason="glibc's malloc only")
def test_freed_buffers_are_reused_without_page_faults():
    assert _faults("import engine\n") < 200
    # the same without: glibc gives the freed heap back and faults it in again (measured: 4,320)
    assert _faults("") > 1000


def test_a_users_malloc_settings_win(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert not engine.keep_freed_memory()
