"""SIPAS scoring: exact indices with honest uncertainty, by any breakdown, at any size.

A library (DataFrame in, small frozen result with ``.to_frame()`` out) and the ``sipas score``
command. It reads the questionnaire files and never imports the web app. See README.md here.
"""

from .allocation import AllocationResult, allocate, margin_sample_size, stratum_sample_sizes
from .breakdown import PERIOD, PeriodRange, unit_ancestors
from .comparison import ChangeResult, compare, holm, two_proportion_test, z_test
from .design import SurveyDesign
from .drivers import QUADRANTS, DriversResult, drivers, spearman_from_table
from .errors import AnalysisError, DataError
from .intervals import kish_effective_n, normal_interval, wilson_from_share, wilson_interval
from .plan import LEVELS
from .pooling import PooledResult, PoolingSettings, pool_forms
from .ranking import ExpectationRanking, RankResult, expectation_ranking, rank_units
from .report import tidy_scores
from .responses import SYSTEM_COLUMNS, read_responses
from .sampling import SamplePlan, required_sample_size, sample_plan
from .scoring import (
    OPTIONAL_COLUMNS,
    TIDY_COLUMNS,
    ScoreResult,
    count_table,
    score,
    score_counts,
)
from .selection import DrawnSample, draw_sample
from .settings import ANY_FLAG, ScoringSettings
from .targets import TARGET_COLUMNS, ParPoints, TargetResult, join_targets, par_index_points

__all__ = [
    "ANY_FLAG",
    "LEVELS",
    "OPTIONAL_COLUMNS",
    "PERIOD",
    "QUADRANTS",
    "SYSTEM_COLUMNS",
    "TARGET_COLUMNS",
    "TIDY_COLUMNS",
    "AllocationResult",
    "AnalysisError",
    "ChangeResult",
    "DataError",
    "DrawnSample",
    "DriversResult",
    "ExpectationRanking",
    "ParPoints",
    "PeriodRange",
    "PooledResult",
    "PoolingSettings",
    "RankResult",
    "SamplePlan",
    "ScoreResult",
    "ScoringSettings",
    "SurveyDesign",
    "TargetResult",
    "allocate",
    "compare",
    "count_table",
    "draw_sample",
    "drivers",
    "expectation_ranking",
    "holm",
    "join_targets",
    "kish_effective_n",
    "margin_sample_size",
    "normal_interval",
    "par_index_points",
    "pool_forms",
    "rank_units",
    "read_responses",
    "required_sample_size",
    "sample_plan",
    "score",
    "score_counts",
    "spearman_from_table",
    "stratum_sample_sizes",
    "tidy_scores",
    "two_proportion_test",
    "unit_ancestors",
    "wilson_from_share",
    "wilson_interval",
    "z_test",
]
