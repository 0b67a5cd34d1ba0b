"""`winloss review`, `winloss learn`, `winloss trackers` and `winloss labels export|import`: teach the trackers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.table import Table
from winloss.pipeline.errors import WinlossError
from winloss.pipeline.vocab import FindingKind, mmss

from .state import cells, console, plain, print_json, state

labels_app = typer.Typer(help="Reviewers' labels: export and import as JSON lines.\n\n"
                              "Example: winloss labels export -o labels.jsonl", no_args_is_help=True)
ANSWERS = "[y]es / [n]o / [c] other category / [s]kip / [q]uit"


@contextmanager
def _trained(st) -> Iterator:
    """Engines with the trackers trained on the store's labels, closed afterwards."""
    engines = st.engines()
    try:
        yield engines
    finally:
        engines.close()


def _show(item, number: int, total: int) -> None:
    head = "suggested" if item.suggested else "finding"
    console.print(f"\n[bold]{number}/{total}[/] {head}: [cyan]{plain(item.kind.value)}: {plain(item.label)}[/] "
                  f"in call {plain(item.call_id[:8])} @ {mmss(item.utterance.start)}", highlight=False)
    for u in item.context:
        mark = "[bold]>[/]" if u.index == item.utterance.index else " "
        console.print(f" {mark} {plain(u.role.value)} ({plain(u.speaker)}): {plain(u.text)}", highlight=False,
                      soft_wrap=True)
    if item.quote != item.utterance.text:
        console.print(f"   sentence: “{plain(item.quote)}”", highlight=False, soft_wrap=True)


def _choices(st, kind: FindingKind) -> list[str]:
    if kind is FindingKind.objection:
        return [c.category for c in st.playbook.objections]
    if kind is FindingKind.message:
        return [m.id for m in st.playbook.messages]
    return [c.name for c in st.playbook.competitors]


def _ask_other(st, item) -> str | None:
    choices = [c for c in _choices(st, item.kind) if c != item.label]
    if not choices:
        return None
    answer = typer.prompt(f"which one? ({', '.join(choices)})", default="", show_default=False).strip()
    return answer if answer in choices else None


def review(ctx: typer.Context,
           kind: FindingKind = typer.Option(FindingKind.objection, help="objection, message or competitor"),
           label: str = typer.Option(None, help="only this category, message id or competitor"),
           limit: int = typer.Option(25, min=1, help="how many to review in this session"),
           suggest: bool = typer.Option(False, "--suggest", help="turns the tracker is least sure about (objections), "
                                        "not only its findings"),
           who: str = typer.Option(None, help="your name, stored with each answer")) -> None:
    """Judge findings (or suggested turns) one by one; every answer is saved at once. Then run `winloss learn`.

    Example: winloss review --suggest --limit 25 --who ana
    """
    from winloss.pipeline.extract.review import findings_to_review, suggestions_to_review

    st = state(ctx)
    if suggest and kind is not FindingKind.objection:
        raise WinlossError("--suggest picks objection turns; review messages and competitors by their findings")
    if suggest:
        with _trained(st) as engines:  # closed once the suggestions are picked: answering needs no model
            items = suggestions_to_review(st.store, engines, limit, label)
    else:
        items = findings_to_review(st.store, kind, label, limit)
    if not items:
        console.print("Nothing to review: no " + ("unlabelled customer turns" if suggest else
                                                  "finding of this kind without a verdict; try --suggest") + ".")
        return
    saved = 0
    for number, item in enumerate(items, start=1):
        _show(item, number, len(items))
        answer = typer.prompt(ANSWERS, default="s", show_default=False).strip().lower()[:1]
        if answer == "q":
            break
        if answer not in ("y", "n", "c"):
            continue
        other = _ask_other(st, item) if answer == "c" else None
        if answer == "c" and other is None:
            console.print("  not a known category: skipped")
            continue
        saved += st.store.save_labels(item.labels(answer, other, who))  # one transaction per answer: a kill loses none
    console.print(f"\n{saved} label(s) saved. `winloss learn` retrains the trackers and refreshes the findings.")


def learn(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print the result as JSON")) -> None:
    """Retrain the trackers on the labels and give every stored call new findings (no transcription).

    Example: winloss learn --json
    """
    from winloss.pipeline.extract.review import refresh_findings
    from winloss.pipeline.storage.lock import data_lock

    st = state(ctx)
    with _trained(st) as engines, data_lock(st.settings.data_dir, "learn"):  # it rewrites findings and vectors
        result = refresh_findings(st.store, st.batch_index(engines), engines)
        status = _status(st, engines)
    if as_json:
        print_json({"refreshed": result.refreshed, "current": result.current, "needs_analysis": result.needs_analysis,
                    "trackers": [s.__dict__ for s in status]})
        return
    _print_status(status)
    console.print(f"{result.refreshed} call(s) refreshed, {result.current} already current.")
    if result.needs_analysis:
        console.print(f"{len(result.needs_analysis)} call(s) were analysed under other transcription settings or an "
                      f"older winloss: run `winloss analyze` on them (e.g. {plain(result.needs_analysis[0])}).",
                      highlight=False, soft_wrap=True)


def trackers(ctx: typer.Context,
             as_json: bool = typer.Option(False, "--json", help="print trackers and reviews as JSON")) -> None:
    """Which engine decides each finding kind (learned from labels or zero-shot), on how many labels, how precise.

    Example: winloss trackers --json
    """
    from winloss.pipeline.insight.insights import share_right

    st = state(ctx)
    with _trained(st) as engines:
        status = _status(st, engines)
        reviews = st.store.review_counts()
    if as_json:
        print_json({"trackers": [s.__dict__ for s in status],
                    "reviewed_findings": [{"kind": k, "label": label, "right": y, "wrong": n}
                                          for (k, label), (y, n) in sorted(reviews.items())]})
        return
    _print_status(status)
    if reviews:
        table = Table("kind", "label", "reviewed findings", "right", "precision")
        for (k, label), (yes, no) in sorted(reviews.items()):
            table.add_row(*cells(k, label, yes + no, yes, f"{share_right(yes, no):.2f}"))
        console.print(table)


def _status(st, engines) -> list:
    from winloss.pipeline.extract.learning import TrackerStatus

    if engines.learned:
        return engines.learned.status
    return [TrackerStatus(kind=FindingKind.objection, mode="zero-shot", labels=0, yes=0, no=0,
                          note=f"learns after {st.settings.extraction.min_labels} reviewed turns")]


def _print_status(status) -> None:
    table = Table("kind", "decided by", "labels (yes/no)", "threshold", "est. precision", "est. recall", "note")
    for s in status:
        table.add_row(*cells(s.kind.value, s.mode, f"{s.labels} ({s.yes}/{s.no})",
                             "–" if s.threshold is None else f"{s.threshold:.2f}",
                             "–" if s.precision is None else f"{s.precision:.2f}",
                             "–" if s.recall is None else f"{s.recall:.2f}", s.note))
    console.print(table)


@labels_app.command("export")
def labels_export(ctx: typer.Context,
                  out: Path = typer.Option(None, "--out", "-o", help="file (default: stdout)")) -> None:
    """Every label as a JSON line (the format `labels import` reads back).

    Example: winloss labels export -o labels.jsonl
    """
    from winloss.pipeline.extract.labels import dump

    text = dump(state(ctx).store.labels())
    if out is None or str(out) == "-":
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"{text.count(chr(10))} label(s) written to {plain(out)}", highlight=False)


@labels_app.command("import")
def labels_import(ctx: typer.Context, path: Path = typer.Argument(..., help="JSON lines: exported labels, or "
                                                                         "{file|call_id, utterance, kind, label, "
                                                                         "verdict} per line"),
                  who: str = typer.Option(None, help="stored with labels that name nobody"),
                  as_json: bool = typer.Option(False, "--json", help="print the count imported as JSON")) -> None:
    """Bring labels in (all or nothing: a bad line is an error naming it). Then run `winloss learn`.

    Example: winloss labels import reviewed.jsonl --who "sales ops"
    """
    from winloss.pipeline.extract.labels import read

    st = state(ctx)
    n = st.store.save_labels(read(path, st.store, who))
    if as_json:
        print_json({"imported": n, "file": str(path)})
        return
    console.print(f"{n} label(s) imported. `winloss learn` retrains the trackers and refreshes the findings.")


def register(app: typer.Typer) -> None:
    app.command()(review)
    app.command()(learn)
    app.command()(trackers)
    app.add_typer(labels_app, name="labels")
