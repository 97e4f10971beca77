"""flanlab: instruction tuning and zero-shot evaluation on held-out task clusters (FLAN, Wei et al. 2022)."""

__version__ = "0.1.0"
