"""Reference metrics of answers against reference answers, as in the STEM-tutor paper's table:
corpus BLEU (sacrebleu) and mean ROUGE-1, ROUGE-2, ROUGE-L F-measures (rouge-score, stemmed).
All four are on a 0-1 scale (sacrebleu's 0-100 BLEU divided by 100), like the paper."""

from __future__ import annotations

from labtax.errors import MissingExtraError

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def bleu(answers: list[str], references: list[str]) -> float | None:
    if not answers:
        return None
    try:
        # an extra of labtax[eval]: imported only when BLEU is scored
        import sacrebleu
    except ImportError:
        raise MissingExtraError("eval", "BLEU") from None
    return float(sacrebleu.corpus_bleu(answers, [references]).score) / 100.0


def rouge(answers: list[str], references: list[str]) -> dict[str, float | None]:
    if not answers:
        return dict.fromkeys(ROUGE_TYPES)
    try:
        # an extra of labtax[eval]: imported only when ROUGE is scored
        from rouge_score import rouge_scorer
    except ImportError:
        raise MissingExtraError("eval", "ROUGE") from None
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    scores = [scorer.score(ref, ans) for ans, ref in zip(answers, references, strict=True)]
    return {kind: sum(s[kind].fmeasure for s in scores) / len(scores) for kind in ROUGE_TYPES}
