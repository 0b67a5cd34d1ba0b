"""`winloss eval asr|diarization|extraction`: accuracy against references, printed as tables or JSON."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .state import EXAMPLES, cells, console, plain, print_json, state

eval_app = typer.Typer(help="Measure accuracy against references.\n\nExample: winloss eval extraction --json",
                       no_args_is_help=True)


def _engines(ctx: typer.Context):
    return state(ctx).engines(labels=[])  # measures the engines as configured, not as the labels taught them


def _emit(rows: list[dict], columns: list[str], as_json: bool, title: str) -> None:
    if as_json:
        print_json(rows)
        return
    table = Table(*columns, title=plain(title))
    for r in rows:
        table.add_row(*cells(*(f"{r[c]:.3f}" if isinstance(r[c], float) else r[c] for c in columns)))
    console.print(table)


@eval_app.command("asr")
def eval_asr(ctx: typer.Context, data: Path = typer.Option(EXAMPLES / "eval", help="evaluation audio folder"),
             as_json: bool = typer.Option(False, "--json", help="print the scores as JSON")) -> None:
    """WER (Whisper's English normalisation) of winloss and of bare faster-whisper, same model and beam.

    Example: winloss eval asr --json
    """
    from winloss.pipeline.evaluation.findings import evaluate_asr

    rows = [s.model_dump() for s in evaluate_asr(_engines(ctx), data)]
    _emit(rows, ["name", "words", "wer_winloss", "wer_bare"], as_json, "WER")


@eval_app.command("diarization")
def eval_diarization(ctx: typer.Context, data: Path = typer.Option(EXAMPLES / "eval", help="evaluation audio folder"),
                     collar: float = typer.Option(0.25, help="seconds around reference boundaries not scored"),
                     as_json: bool = typer.Option(False, "--json", help="print the scores as JSON")) -> None:
    """DER on the pyannote phone sample, and role accuracy of the analysed demo calls in the store.

    Example: winloss eval diarization --collar 0.25
    """
    from winloss.pipeline.evaluation.findings import evaluate_diarization, role_accuracy

    st = state(ctx)
    results = evaluate_diarization(_engines(ctx), data, EXAMPLES / "gong", collar)
    roles = role_accuracy(st.store, EXAMPLES / "scripts")
    rows = [{"audio": name, "collar": collar, **r.model_dump()} for name, r in results.items()]
    _emit(rows, list(rows[0]), as_json, "Diarization error rate")
    if as_json:
        return
    console.print(f"Role accuracy of the analysed demo calls in the store: stereo {roles['stereo']:.1%}, "
                  f"mono {roles['mono']:.1%}")


@eval_app.command("extraction")
def eval_extraction(ctx: typer.Context,
                    gold: Path = typer.Option(EXAMPLES / "labels.jsonl", help="ground-truth labels (JSON lines)"),
                    as_json: bool = typer.Option(False, "--json", help="print the scores as JSON")) -> None:
    """Precision, recall and F1 of the stored findings per kind, matched by call and time.

    Example: winloss demo && winloss eval extraction --json
    """
    from winloss.pipeline.evaluation.findings import score

    st = state(ctx)
    scores = score(st.store, gold)
    customer = score(st.store, gold, customer_only_competitors=True).kinds["competitor"]

    def row(name: str, s) -> dict:
        return {"finding": name, "tp": s.tp, "fp": s.fp, "fn": s.fn, "precision": round(s.precision, 4),
                "recall": round(s.recall, 4), "f1": round(s.f1, 4)}

    rows = [row(s.kind, s) for s in scores.kinds.values()] + [row("competitor (customer-said)", customer)]
    per_label = [row(name, s) for name, s in scores.labels.items()]
    h = scores.handling
    if as_json:
        print_json({"kinds": rows, "labels": per_label, "handling": h.model_dump()})
        return
    _emit(rows, list(rows[0]), False, f"Extraction against {gold.name}")
    if per_label:
        _emit(per_label, list(per_label[0]), False, "Per category, competitor and message")
    if h.answered_total:
        console.print(f"Objection handling: answered judged right on {h.answered_right}/{h.answered_total} "
                      f"matched objections; accepted judged right on {h.accepted_right}/{h.accepted_total} "
                      f"answered ones.")


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
