"""R's ``survey`` package as the independent implementation of design-based scores.

Every call to R goes through :func:`r_design_scores`: one ``Rscript`` run per scenario that
computes many estimates (every item by ``svyratio``, every index by ``svycontrast``, for
every domain and lonely-PSU rule asked), so the R tests stay within seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pytest

RSCRIPT = shutil.which("Rscript")


def require_r() -> None:
    """Skip without R on a developer machine; fail in CI (``CI=true``), where it must exist.

    The same rule as ``require`` in ``tests/conftest.py``, which this directory (a rootdir
    test folder, not a package) cannot import.
    """
    if RSCRIPT is not None:
        return
    reason = "Rscript is not installed (Debian: apt-get install r-base-core r-cran-survey)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


#: Reads spec.csv (key,value), data.csv (stratum/cluster/weight/fpc columns, the domain
#: columns, ``scored`` and per item ``y_<item>`` = satisfied, ``a_<item>`` = answered) and
#: lambda.csv (node, item, lambda, and the node's svycontrast expression); writes out.csv.
R_PROGRAM = r"""
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
spec <- read.csv(args[1], stringsAsFactors = FALSE, colClasses = "character")
get <- function(k) { v <- spec$value[spec$key == k]; if (length(v) == 0 || is.na(v)) "" else v }
data <- read.csv(args[2], stringsAsFactors = FALSE)
lambda <- read.csv(args[3], stringsAsFactors = FALSE)
items <- strsplit(get("items"), " ")[[1]]
column <- function(k) if (get(k) == "") NULL else as.formula(paste0("~", get(k)))
ids <- if (get("cluster") == "") ~1 else column("cluster")
deff_arg <- if (get("deff") == "replace") "replace" else TRUE
nodes <- unique(lambda$node)
out <- list()
add <- function(...) out[[length(out) + 1]] <<- data.frame(..., stringsAsFactors = FALSE)
for (lonely in strsplit(get("lonely"), " ")[[1]]) {
  options(survey.lonely.psu = lonely)
  des <- svydesign(ids = ids, strata = column("strata"), weights = column("weight"),
                   fpc = column("fpc"), data = data, nest = TRUE)
  for (dcol in strsplit(get("domains"), " ")[[1]]) {
    values <- if (dcol == "ALL") "ALL" else sort(unique(data[[dcol]]))
    for (value in values) {
      keep <- data$scored == 1
      if (dcol != "ALL") keep <- keep & data[[dcol]] == value
      dd <- subset(des, keep)
      for (item in items) {
        r <- svyratio(as.formula(paste0("~y_", item)), as.formula(paste0("~a_", item)), dd,
                      deff = deff_arg)
        ci <- confint(r, level = 0.95)
        add(lonely = lonely, domain = dcol, value = as.character(value), code = item,
            estimate = as.numeric(coef(r)), se = as.numeric(SE(r)),
            deff = as.numeric(deff(r)), low = ci[1], high = ci[2], se_total = NA)
      }
      names_all <- c(paste0("y_", items), paste0("a_", items))
      tot <- svytotal(as.formula(paste("~", paste(names_all, collapse = "+"))), dd)
      exprs <- lapply(nodes, function(v) parse(text = lambda$expression[lambda$node == v][1])[[1]])
      names(exprs) <- nodes
      con <- svycontrast(tot, exprs)
      ci <- confint(con, level = 0.95)
      est <- coef(tot)
      for (k in seq_along(nodes)) {
        v <- nodes[k]
        part <- lambda[lambda$node == v, ]
        # The node's linearised variable, from R's own totals: z = sum lambda (y - R a) / W.
        z <- rep(0, nrow(dd$variables))
        for (j in seq_len(nrow(part))) {
          y <- dd$variables[[paste0("y_", part$item[j])]]
          a <- dd$variables[[paste0("a_", part$item[j])]]
          ratio <- est[[paste0("y_", part$item[j])]] / est[[paste0("a_", part$item[j])]]
          z <- z + part$lambda[j] * (y - ratio * a) / est[[paste0("a_", part$item[j])]]
        }
        dz <- update(dd, .z = z)
        zt <- svytotal(~.z, dz, deff = deff_arg)
        add(lonely = lonely, domain = dcol, value = as.character(value), code = v,
            estimate = as.numeric(coef(con)[k]), se = as.numeric(SE(con)[k]),
            deff = as.numeric(deff(zt)), low = ci[k, 1], high = ci[k, 2],
            se_total = as.numeric(SE(zt)))
      }
    }
  }
}
write.csv(do.call(rbind, out), args[4], row.names = FALSE)
"""


def r_design_scores(
    data: pd.DataFrame,
    workdir: Path,
    *,
    items: Sequence[str],
    lambdas: Mapping[str, Mapping[str, float]],
    expressions: Mapping[str, str],
    strata: str | None,
    cluster: str | None,
    weight: str | None,
    fpc: str | None,
    domains: Sequence[str] = ("ALL",),
    lonely: Sequence[str] = ("fail",),
    deff: str = "without_replacement",
) -> pd.DataFrame:
    """Run R's ``svydesign`` → ``svyratio`` / ``svycontrast`` on ``data``; one row per estimate.

    ``data`` holds the design columns, the domain columns, ``scored`` (1 = enters the
    indices) and ``y_<item>``, ``a_<item>`` for every item. ``lambdas[node][item]`` is the
    item's weight in the node and ``expressions[node]`` the node as R arithmetic on the
    totals (``(y_TC1/a_TC1 + …)/3``). Returns columns ``lonely, domain, value, code,
    estimate, se, deff, low, high, se_total`` (0–1 scale; ``se_total`` = SE of the node's
    linearised variable's total, which must equal its ``svycontrast`` SE).
    """
    if RSCRIPT is None:
        raise RuntimeError("Rscript is not installed")
    spec = {
        "items": " ".join(items),
        "strata": strata or "",
        "cluster": cluster or "",
        "weight": weight or "",
        "fpc": fpc or "",
        "domains": " ".join(domains),
        "lonely": " ".join(lonely),
        "deff": "replace" if deff == "with_replacement" else "true",
    }
    paths = [workdir / name for name in ("spec.csv", "data.csv", "lambda.csv", "out.csv")]
    pd.DataFrame({"key": list(spec), "value": list(spec.values())}).to_csv(paths[0], index=False)
    data.to_csv(paths[1], index=False, float_format="%.17g")
    pd.DataFrame(
        [
            {"node": node, "item": item, "lambda": repr(weight_), "expression": expressions[node]}
            for node, parts in lambdas.items()
            for item, weight_ in parts.items()
        ]
    ).to_csv(paths[2], index=False)
    program = workdir / "design.R"
    program.write_text(R_PROGRAM, encoding="utf-8")
    done = subprocess.run(
        [RSCRIPT, "--vanilla", str(program), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"Rscript failed:\n{done.stderr[-3000:]}")
    return pd.read_csv(paths[3], keep_default_na=True, dtype={"value": str})
