"""labtax mix, train, eval and chat: the student, tuned and measured.

Each command imports the library behind it when it runs, so `labtax --help` and the light commands
never load torch or the other stages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from labtax.cli.group import cli, default

# ---- mix / train ------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--input", "input_dir", type=click.Path(path_type=Path), help=f"Generated records {default('mix.input')}."
)
@click.option(
    "--output", "output_dir", type=click.Path(path_type=Path), help=f"Output folder {default('mix.output')}."
)
@click.option("--seed", type=int, help=f"Seed of shuffles, splits and replay draws {default('mix.seed')}.")
@click.option("--tokenizer", help="Student tokenizer folder [default: mix.tokenizer, the embedded student].")
def mix(input_dir: Path | None, output_dir: Path | None, seed: int | None, tokenizer: str | None) -> None:
    """Split generated data into the KT/1, KT/2 and ST phases with replay."""
    from labtax.config import load_config
    from labtax.mix import mix as run_mix
    from labtax.train.summary import mix_summary, mix_warnings

    stats = run_mix(load_config(), input_dir, output_dir, seed, tokenizer)
    click.echo(mix_summary(stats))
    for line in mix_warnings(stats):
        click.echo(line, err=True)


@cli.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Training config (YAML); default: schema defaults.",
)
@click.option(
    "--phases",
    help="Comma-separated phases to run, e.g. kt2,st [default: schedule of the config, kt1,kt2,st].",
)
@click.option(
    "--resume", is_flag=True, help="Continue the run in output_dir from its journal and last saved state."
)
@click.option("--dry-run", is_flag=True, help="Print the plan per phase without loading the model.")
@click.option("--nproc", type=int, help="Processes on this machine [default: nproc of the config, 1].")
@click.option(
    "--hostfile",
    type=click.Path(path_type=Path),
    help="DeepSpeed hostfile for several machines [default: none, this machine only].",
)
@click.option(
    "--nnodes",
    type=int,
    help="Machines of a torchrun launch, each running this command [default: nnodes of the config, 1].",
)
@click.option(
    "--node-rank", type=int, help="This machine's index, 0 to nnodes-1 [default: node_rank of the config, 0]."
)
@click.option(
    "--master-addr", help="Address of node 0 (c10d rendezvous) [default: master_addr of the config]."
)
@click.option(
    "--master-port", type=int, help="Rendezvous port on node 0 [default: master_port of the config]."
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config value, e.g. phases.kt1.lr=1e-5 [default: none].",
)
@click.option(
    "--restart-phase",
    metavar="PHASE",
    help="Resume, but run PHASE and the later phases again (with changed settings) [default: none].",
)
def train(
    config_path: Path | None,
    phases: str | None,
    resume: bool,
    dry_run: bool,
    nproc: int | None,
    hostfile: Path | None,
    overrides: tuple[str, ...],
    restart_phase: str | None,
    **launch: Any,
) -> None:
    """Tune a student phase by phase with DeepSpeed.

    With --resume and no --config/--set the run continues with its stored settings; with them, changes
    safe to continue with (selector, log_every, settings of phases not started) are taken, others refused.
    """
    from labtax.eval.checkpoint import score_epoch
    from labtax.train.config import load_train_config
    from labtax.train.launch import train as run_train
    from labtax.train.summary import train_summary

    schedule = [p.strip() for p in phases.split(",")] if phases else None
    config = load_train_config(
        config_path,
        list(overrides),
        nproc=nproc,
        schedule=schedule,
        hostfile=str(hostfile) if hostfile else None,
        **launch,
    )
    given = bool(config_path or overrides or nproc or hostfile)
    # Train chooses checkpoints; how a checkpoint scores is eval's to say, so the CLI hands eval's scorer in.
    result = run_train(
        config,
        resume=resume,
        dry_run=dry_run,
        echo=click.echo,
        settings_given=given,
        restart_phase=restart_phase,
        scorer=score_epoch,
    )
    click.echo(train_summary(result))


# ---- eval / chat ------------------------------------------------------------------------------


@cli.command("eval")
@click.option("--model", metavar="embedded|HF_DIR", help="Evaluate one model [default: embedded].")
@click.option(
    "--run",
    "run_dir",
    type=click.Path(path_type=Path),
    help="Evaluate a training run: its base model and every phase's chosen checkpoint [default: none].",
)
@click.option(
    "--input",
    "input_dir",
    type=click.Path(path_type=Path),
    help=f"Generate output holding eval/ {default('generate.output')}.",
)
@click.option(
    "--sets", help="Comma-separated: knowledge,skills,seeds,benchmark [default: eval.sets, all four]."
)
@click.option(
    "--judge", metavar="embedded|URL", help="Who grades answers [default: eval.judge, else generate.teacher]."
)
@click.option(
    "--benchmark",
    type=click.Path(path_type=Path),
    help="Folder of MMLU-format files (*.jsonl, or question,A,B,C,D,answer *.csv) [default: none].",
)
@click.option(
    "--shots",
    type=click.IntRange(0),
    help=f"Multiple-choice examples before each item {default('eval.shots')}.",
)
@click.option(
    "--reward-model",
    type=click.Path(path_type=Path),
    help="A reward model (`labtax train`, reward phase): its test pair accuracy, and each model's "
    "reward deviation on the test prompts [default: none].",
)
@click.option(
    "--preferences",
    type=click.Path(path_type=Path),
    help=f"`labtax rank` output holding test.jsonl, for --reward-model {default('rank.output')}.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    help=f"Where eval.json/md/png go: RUN_DIR/eval with --run, else {default('eval.output')}.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def eval_command(
    model: str | None,
    run_dir: Path | None,
    input_dir: Path | None,
    sets: str | None,
    judge: str | None,
    benchmark: Path | None,
    shots: int | None,
    reward_model: Path | None,
    preferences: Path | None,
    output: Path | None,
    fmt: str,
) -> None:
    """Score models on the evaluation sets: multiple choice, judged answers, BLEU/ROUGE.

    Writes eval.json, eval.md and eval.png; judge calls and answers are cached (a rerun is free).
    """
    from rich.console import Console

    from labtax.eval.run import EvalOptions, evaluate
    from labtax.eval.summary import summary_lines, summary_table

    if model and run_dir:
        raise click.UsageError("give --model or --run, not both")
    chosen = tuple(s.strip() for s in sets.split(",") if s.strip()) if sets else None
    result = evaluate(
        EvalOptions(
            model=model,
            run=run_dir,
            input=input_dir,
            sets=chosen,
            judge=judge,
            output=output,
            benchmark=benchmark,
            shots=shots,
            reward_model=reward_model,
            preferences=preferences,
            show_progress=fmt == "text",
        )
    )
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
        return
    Console().print(summary_table(result))
    for line in summary_lines(result):
        click.echo(line)


@cli.command()
@click.argument("prompt", required=False)
@click.option(
    "--model", default="embedded", show_default=True, metavar="embedded|HF_DIR", help="The model to talk to."
)
@click.option("--max-tokens", type=click.IntRange(1), default=256, show_default=True)
def chat(prompt: str | None, model: str, max_tokens: int) -> None:
    """Ask a model: one answer to PROMPT, or a conversation (empty line or Ctrl-D ends it)."""
    from labtax.eval.chat import converse

    converse(
        model,
        prompt,
        max_tokens,
        ask=lambda: click.prompt("you", default="", show_default=False),
        say=click.echo,
    )
