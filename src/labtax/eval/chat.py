"""`labtax chat`: try a checkpoint by hand, one answer or a conversation in the terminal."""

from __future__ import annotations

from collections.abc import Callable

from labtax.models.student import Student


def converse(
    model: str, prompt: str | None, max_tokens: int, ask: Callable[[], str], say: Callable[[str], None]
) -> None:
    """Answer `prompt`, or loop: ask for a turn, answer it with the whole conversation so far."""
    student = Student.load(model)
    if prompt:
        say(student.answers([[{"role": "user", "content": prompt}]], max_tokens)[0])
        return
    say(f"chatting with {student.name} (empty line or Ctrl-D to stop)")
    turns: list[dict[str, str]] = []
    while True:
        try:
            text = ask().strip()
        except EOFError:
            return
        if not text:
            return
        turns.append({"role": "user", "content": text})
        answer = student.answers([turns], max_tokens)[0]
        turns.append({"role": "assistant", "content": answer})
        say(answer)
