"""The taxonomy: leaves (qna.yaml folders) under three branches."""

from labtax.taxonomy.leaf import Document, Leaf, SeedExample, load_leaf
from labtax.taxonomy.tree import BRANCHES, branch_of, find_leaves

__all__ = ["BRANCHES", "Document", "Leaf", "SeedExample", "branch_of", "find_leaves", "load_leaf"]
