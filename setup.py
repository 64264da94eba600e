"""proxmo-jax: Proximity-based Multi-turn Optimization (ProxMO) and baselines in JAX."""

from setuptools import find_packages, setup

# Versions that change numbers or behaviour are pinned; the rest are lower bounds.
INSTALL_REQUIRES = [
    "numpy>=1.26",
    "jax>=0.7.0",
    "flax>=0.10",
    "optax>=0.2.4",
    "orbax-checkpoint>=0.11",
    "chex>=0.1.89",
    "ml-collections>=1.0",
    "absl-py>=2.1",
    "sentencepiece>=0.2.0",
    "tokenizers>=0.20",
    "safetensors>=0.4",
    "gguf>=0.10",  # GGUF checkpoints: metadata, tokenizer and dequantization (numpy).
    "jinja2>=3.1",  # the chat templates that checkpoints carry.
    "tqdm>=4.66",
    "tensorboardX>=2.6",
    # Environments. The ALFWorld generator follows the scene data and PDDL domain of this
    # exact alfworld release, run on this exact TextWorld engine.
    "alfworld==0.4.2",
    "textworld[pddl]==1.7.0",
    "bm25s>=0.2.10",
    "PyStemmer>=2.2",
    "rapidfuzz>=3.9",
]

EXTRAS_REQUIRE = {
    # What `make demo` needs beyond the library: the learning-curve plot.
    "demo": [
        "matplotlib>=3.8",
    ],
    "dev": [
        "pytest>=8",
        "pytest-timeout>=2.3",
        "pytest-xdist>=3.6",  # `make test` runs the suite in two processes (two cores).
        "scikit-learn>=1.5",  # TF-IDF parity tests against the reference featurizer.
        "matplotlib>=3.8",
    ],
    # PyTorch + transformers: only for parity tests and benchmarks against HF.
    "hf": [
        "torch>=2.4",
        "transformers>=4.45",
        "accelerate>=0.26",  # transformers needs it to load GGUF files (parity tests).
    ],
}

setup(
    name="proxmo-jax",
    version="0.1.0",
    description="ProxMO, GiGPO, GRPO and RLOO for multi-turn LLM agents in JAX/Flax.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["proxmo_jax*", "environments*", "configs*"]),
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
)
