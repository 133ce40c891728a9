"""The ``sipas score`` command: a responses file in, the tidy scores table out."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import pandas as pd

import questionnaires

from .breakdown import PERIOD, PERIOD_KINDS
from .comparison import compare
from .design import LonelyPsu, SurveyDesign
from .errors import AnalysisError, DataError
from .ranking import rank_units
from .report import tidy_scores
from .responses import read_responses
from .scoring import ScoreResult
from .scoring import score as score_responses
from .settings import ANY_FLAG, ScoringSettings
from .targets import join_targets

#: Short names a person may use in --by for the system columns.
BY_ALIASES = {"unit": "unit_code", "desk": "desk_code", "service": "service_code"}
FORMATS = ("csv", "json", "xlsx")
#: Columns shown with --decimals places (p-values keep their precision).
ROUNDED = ("index", "ci_low", "ci_high", "deff", "target", "gap")
#: Exit status for bad input, as click uses for bad usage.
BAD_INPUT = 2


class Stages:
    """A progress bar over the steps of a long run, on stderr and only for a person."""

    STEPS = ("reading", "checking and scoring", "ranking and comparing", "writing")

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None  # click's ProgressBar, while running

    @contextmanager
    def run(self) -> Iterator[Stages]:
        if not self.enabled:
            yield self
            return
        with click.progressbar(
            length=len(self.STEPS), label="sipas score", file=sys.stderr, show_eta=False
        ) as bar:
            self._bar = bar
            yield self

    def step(self, name: str) -> None:
        if self._bar is not None:
            self._bar.label = f"sipas score: {name}"
            self._bar.update(1)


def _fail(message: str) -> None:
    click.echo(f"sipas score: {' '.join(message.split())}", err=True)
    raise SystemExit(BAD_INPUT)


def _pick_questionnaire(frame: pd.DataFrame, chosen: str | None, source: str) -> str:
    if chosen:
        return chosen
    if "questionnaire" in frame.columns:
        ids = sorted({str(v).strip() for v in frame["questionnaire"].dropna()} - {""})
        if len(ids) > 1:
            raise DataError(
                f"the file mixes questionnaires {', '.join(ids)}; score one at a time with "
                "--questionnaire",
                source=source,
                column="questionnaire",
            )
        if ids:
            return ids[0]
    return "sipas-service"


def _write(table: pd.DataFrame, result: ScoreResult, fmt: str, output: Path | None) -> None:
    if fmt == "csv":
        if output is None:
            click.echo(table.to_csv(index=False), nl=False)
        else:  # a BOM, so Excel shows Vietnamese
            table.to_csv(output, index=False, encoding="utf-8-sig")
    elif fmt == "json":
        text = table.to_json(orient="records", force_ascii=False, indent=1)
        if output is None:
            click.echo(text)
        else:
            output.write_text(text + "\n", encoding="utf-8")
    else:
        assert output is not None
        with pd.ExcelWriter(output, engine="openpyxl") as writer:
            table.to_excel(writer, sheet_name="scores", index=False)
            result.responses.to_excel(writer, sheet_name="responses", index=False)


def _read_parquet(paths: tuple[Path, ...]) -> pd.DataFrame:
    """Parquet files (e.g. ``responses/*.parquet``) as one frame, rows numbered from 0."""
    try:
        parts = [pd.read_parquet(path) for path in paths]
    except ImportError:
        raise AnalysisError("reading Parquet needs pyarrow: pip install 'sipas[scale]'") from None
    except (OSError, ValueError) as exc:
        raise AnalysisError(f"cannot read the Parquet files ({exc})") from None
    return pd.concat(parts, ignore_index=True)


def _score_on_dask(
    paths: tuple[Path, ...],
    scheduler: str,
    questionnaire_id: str | None,
    by: list[str],
    period_kind: str,
    weights: str | None,
    units: pd.DataFrame | None,
    settings: ScoringSettings,
) -> ScoreResult:
    """Sum each Parquet partition into summaries on the cluster, then score the sum here."""
    try:
        import dask.dataframe as dd
        from dask.distributed import Client
    except ImportError:
        raise AnalysisError("--dask needs Dask: pip install 'sipas[scale]'") from None
    from .distributed import build_summaries_dask
    from .summaries import score_summaries

    try:
        client = Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise AnalysisError(f"cannot reach the Dask scheduler {scheduler} ({exc})") from None
    with client:
        frame = dd.read_parquet([str(p) for p in paths])
        named = pd.DataFrame()
        if questionnaire_id is None and "questionnaire" in frame.columns:
            ids = frame["questionnaire"].dropna().astype(str).unique().compute()
            named = pd.DataFrame({"questionnaire": list(ids)})
        source = ", ".join(str(p) for p in paths)
        questionnaire = questionnaires.get(_pick_questionnaire(named, questionnaire_id, source))
        built = build_summaries_dask(
            frame,
            questionnaire,
            by=by,
            period=period_kind if PERIOD in by else None,
            weights=weights,
            settings=settings,
        )
    return score_summaries(built, questionnaire, by=by, units=units, settings=settings)


@click.command("score")
@click.argument(
    "responses", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--questionnaire",
    "questionnaire_id",
    metavar="ID",
    help="Questionnaire id (default: the file's questionnaire column, else sipas-service).",
)
@click.option(
    "--by",
    "by_text",
    default="",
    metavar="COLS",
    help="Breakdown, comma-separated: unit, desk, service, channel, period or any "
    "column (e.g. GENDER).",
)
@click.option(
    "--period",
    "period_kind",
    type=click.Choice(PERIOD_KINDS),
    default="month",
    show_default=True,
    help="Calendar period for 'period' in --by (Vietnam time).",
)
@click.option(
    "--weights", "--weight", "weights", metavar="COL", help="Column of respondent weights."
)
@click.option("--strata", metavar="COL", help="Survey design: the stratum column (commune).")
@click.option("--cluster", metavar="COL", help="Survey design: the cluster (PSU) column (village).")
@click.option(
    "--fpc",
    metavar="COL",
    help="Survey design: PSUs in the stratum's population, or the sampling fraction.",
)
@click.option(
    "--lonely-psu",
    type=click.Choice(["fail", "adjust", "average", "remove", "certainty"]),
    default="fail",
    show_default=True,
    help="Survey design: a stratum with a single PSU (as R's survey.lonely.psu).",
)
@click.option(
    "--targets",
    "targets_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Targets table: unit_code, index, period, target.",
)
@click.option(
    "--units",
    "units_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Unit tree (unit_code, parent_code): roll units up.",
)
@click.option(
    "--method",
    type=click.Choice(["top2box", "mean_score"]),
    help="Item scoring method (default: the questionnaire's).",
)
@click.option(
    "--min-n",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Below this n an index is flagged and not ranked.",
)
@click.option(
    "--exclude-flagged", is_flag=True, help="Leave out responses with any integrity flag."
)
@click.option("--holm", is_flag=True, help="Holm-adjust the p_change values.")
@click.option("--decimals", type=click.IntRange(0, 10), default=2, show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Output format (default: from -o's extension, else csv).",
)
@click.option(
    "--dask",
    "scheduler",
    metavar="SCHEDULER",
    help="Score Parquet files on a Dask cluster (its scheduler address, e.g. "
    "tcp://10.0.0.5:8786): each partition is summed where it lies.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write here instead of standard output.",
)
def score(
    responses: tuple[Path, ...],
    questionnaire_id: str | None,
    by_text: str,
    period_kind: str,
    weights: str | None,
    strata: str | None,
    cluster: str | None,
    fpc: str | None,
    lonely_psu: LonelyPsu,
    targets_path: Path | None,
    units_path: Path | None,
    method: str | None,
    min_n: int,
    exclude_flagged: bool,
    holm: bool,
    decimals: int,
    fmt: str | None,
    scheduler: str | None,
    output: Path | None,
) -> None:
    """Score RESPONSES (.csv or .xlsx, wide format, or .parquet files) into the tidy SIPAS
    scores table.

    With any of --strata, --cluster, --fpc the file is a survey sample: every interval
    follows the design (with --weight as its weights) and a deff column is added.
    """
    fmt = fmt or (output.suffix.lower().lstrip(".") if output is not None else "csv")
    if fmt not in FORMATS:
        _fail(f"{output}: cannot tell the format from the extension; use --format csv|json|xlsx")
    if fmt == "xlsx" and output is None:
        _fail("--format xlsx writes a workbook: give the file with -o FILE.xlsx")
    by = [BY_ALIASES.get(name.strip(), name.strip()) for name in by_text.split(",") if name.strip()]
    parquet = all(path.suffix.lower() == ".parquet" for path in responses)
    if len(responses) > 1 and not parquet:
        _fail("several files are read only as Parquet (.parquet); score a CSV/XLSX one at a time")
    if scheduler is not None and not parquet:
        _fail("--dask reads Parquet files (.parquet); convert the responses first")
    source = ", ".join(str(path) for path in responses)
    design = None
    if strata or cluster or fpc:
        if scheduler is not None:
            _fail(
                "--dask sums responses by group; a survey design (--strata, --cluster, --fpc) "
                "is scored from the rows: leave out --dask"
            )
        design = SurveyDesign(strata, cluster, weights, fpc, lonely_psu=lonely_psu)
        weights = None
    stages = Stages(enabled=sys.stderr.isatty())
    try:
        with stages.run():
            if scheduler is not None:
                frame = pd.DataFrame()  # the responses stay on the cluster
            elif parquet:
                frame = _read_parquet(responses)
            else:
                frame = read_responses(responses[0])
            units = read_responses(units_path) if units_path is not None else None
            targets = read_responses(targets_path) if targets_path is not None else None
            stages.step("checking and scoring")
            settings = ScoringSettings(
                method=method,  # type: ignore[arg-type]
                min_n=min_n,
                exclude_flags=frozenset({ANY_FLAG}) if exclude_flagged else frozenset(),
            )
            try:
                if scheduler is not None:
                    result = _score_on_dask(
                        responses,
                        scheduler,
                        questionnaire_id,
                        by,
                        period_kind,
                        weights,
                        units,
                        settings,
                    )
                else:
                    qid = _pick_questionnaire(frame, questionnaire_id, source)
                    result = score_responses(
                        frame,
                        questionnaires.get(qid),
                        by=by,
                        period=period_kind if PERIOD in by else None,
                        weights=weights,
                        units=units,
                        settings=settings,
                        design=design,
                    )
            except DataError as exc:
                raise exc.with_source(source) from None
            stages.step("ranking and comparing")
            ranks = rank_units(result, units=units) if "unit_code" in by else None
            changes = compare(result, PERIOD, holm_correction=holm) if PERIOD in by else None
            joined = join_targets(result, targets) if targets is not None else None
            table = tidy_scores(result, targets=joined, ranks=ranks, changes=changes)
            for column in ROUNDED:
                if column in table.columns:
                    table[column] = table[column].round(decimals)
            stages.step("writing")
            _write(table, result, fmt, output)
            stages.step("done")
    except questionnaires.QuestionnaireError as exc:
        _fail(str(exc))
    except DataError as exc:
        hint = (
            " (use --questionnaire to choose another questionnaire)"
            if ("item column(s)" in exc.problem)
            else ""
        )
        _fail(f"{exc}{hint}")
    except (AnalysisError, ValueError) as exc:  # our boundary checks; a TypeError is a bug
        _fail(f"{source}: {exc}")
    except OSError as exc:
        _fail(f"{exc.filename or output}: {exc.strerror or exc}")
