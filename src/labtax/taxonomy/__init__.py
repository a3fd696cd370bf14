"""The taxonomy: leaves (qna.yaml folders) under three branches."""

from labtax.taxonomy.leaf import Document, Leaf, SeedExample, chat_messages, load_leaf
from labtax.taxonomy.tree import BRANCHES, branch_of, find_leaves

__all__ = [
    "BRANCHES",
    "Document",
    "Leaf",
    "SeedExample",
    "branch_of",
    "chat_messages",
    "find_leaves",
    "load_leaf",
]
