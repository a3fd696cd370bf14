"""Contexts, questions and answers must stay within lint.word_limits (defaults: 500, 250, 500 words).

Passes::

    question: What is the derivative of x squared?

Fails::

    answer: <a 700-word essay>
"""

from labtax.lint.problem import Finding
from labtax.lint.rules._seeds import texts

ID = "LT303"
NAME = "word-limits"
SEVERITY = "error"
PROFILES = ("labtax",)


def check(source):
    limits = source.settings["word_limits"]
    for at, role, text in texts(source.data):
        words = len(text.split())
        if words > limits[role]:
            yield Finding(
                ID,
                f"the {role} has {words} words; at most {limits[role]} are allowed "
                f"(lint.word_limits.{role}): shorten it",
                at=at,
            )
