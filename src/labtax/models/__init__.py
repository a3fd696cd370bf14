"""Everything that talks to a model, below the pipeline stages that use it.

- teachers: the interface (`teacher`), the backends (`embedded_teacher`, `openai_teacher` with its
  capability `probe`), and the one place that picks a backend (`registry`);
- calls: prompt `templates`, the SQLite call `cache`, the `calls` layer that renders, caches and counts;
- students: `embedded` (the bundled model's folder), `student` (load, log-likelihoods, greedy answers,
  cached answers), `decode` (batched sampling), `tokenize` (chat samples to ids and labels), `reward`;
- `progress`: the live display of long work.

It imports nothing from generate, eval, rank or train (pyproject.toml's import contract).
"""
