"""Executes notebooks through Jupyter with a given kernel, the way `jupyter execute --kernel_name=K NB` does
(nbclient's NotebookClient, the notebook's folder as the kernel's working directory, errors fatal), and also writes
the executed notebook to OUT_DIR/NAME.ipynb so that compare_outputs.py can set it beside the runner's.

usage: execute_notebooks.py KERNEL_NAME OUT_DIR NOTEBOOK...
"""
import os
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main(kernel, out_dir, notebooks):
    os.makedirs(out_dir, exist_ok=True)
    failed = 0
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=1800, startup_timeout=60, kernel_name=kernel,
                                resources={"metadata": {"path": str(pathlib.Path(path).parent.absolute())}})
        t0 = time.perf_counter()
        try:
            client.execute()
            status = "ok"
        except CellExecutionError as e:
            status = "FAIL " + str(e).strip().splitlines()[-1][:200]
            failed += 1
        out = os.path.join(out_dir, os.path.basename(path))
        nbformat.write(nb, out)
        print(f"{status:4} {path} via Jupyter kernel {kernel}: {time.perf_counter() - t0:.1f} s -> {out}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 4:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
