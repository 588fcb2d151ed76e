"""The plugin surface: everything a method, metric, dataset or study file imports of benchbench.

A plugin written against these names keeps working when the engine's modules move: they are
the public contract (docs/plugins.md), and the built-in plugins import nothing else.  Where each
name is defined — :mod:`benchbench.plugin.method`, :mod:`~benchbench.plugin.metric`,
:mod:`~benchbench.plugin.data`, :mod:`~benchbench.plugin.representation`,
:mod:`~benchbench.plugin.stats`, :mod:`~benchbench.plugin.boosting` and the registries of
:mod:`benchbench.core.registry` — documents it.  Checking a plugin before a grid meets it is
:mod:`benchbench.testing`'s.
"""

from benchbench.core.registry import (
    BenchbenchDeprecation,
    BenchbenchError,
    MetricNotApplicable,
    datasets,
    methods,
    metrics,
    studies,
)
from benchbench.plugin.boosting import fit_classifiers
from benchbench.plugin.data import (
    NPZ_ROWS,
    CachedImages,
    Dataset,
    DatasetError,
    Download,
    GroundTruthDataset,
    ImageStore,
    LabelledDataset,
    PackedBinaryImages,
    Uint8Images,
    cached_array,
    classes_from_values,
    data_dir,
    decode_into,
    fingerprint,
    nhwc_to_nchw,
    npz_chunks,
    npz_shape,
    require_files,
)
from benchbench.plugin.method import Auxiliary, Inputs, Method
from benchbench.plugin.metric import (
    COUNT,
    Shown,
    across_seeds,
    better,
    bounds,
    defined_by,
    execution,
    names_factors,
    profiles,
    shown_as,
    shown_output,
)
from benchbench.plugin.representation import (
    Mode,
    ModelView,
    Representation,
    SampledView,
    encode,
    label_names,
    labels_at,
    logistic_regression,
    partners,
    sample_codes,
    sample_indices,
)
from benchbench.plugin.stats import entropy, histogram_discretize, mutual_info_matrix, pearson_matrix, standardise
from benchbench.plugin.study import Published, Study
from benchbench.report.analysis import smallest_p, superiority, trend
from benchbench.report.numbers import BOLD_RULE, Column
from benchbench.report.parts import (
    INTERVAL_RULE,
    NOT_SUPPORTED,
    NOT_TESTABLE,
    SIGNIFICANCE,
    SUPPORTED,
    Claim,
    Section,
    Table,
    beta_sweep,
    dip_name,
    heading,
    title_of,
    verdict,
)

__all__ = [
    # registries and errors
    "methods",
    "metrics",
    "datasets",
    "studies",
    "BenchbenchError",
    "BenchbenchDeprecation",
    "MetricNotApplicable",
    # a method
    "Method",
    "Auxiliary",
    "Inputs",
    # a metric: its declaration
    "COUNT",
    "Shown",
    "across_seeds",
    "better",
    "bounds",
    "defined_by",
    "execution",
    "names_factors",
    "profiles",
    "shown_as",
    # a metric: what it scores and its helpers
    "Representation",
    "ModelView",
    "SampledView",
    "Mode",
    "encode",
    "label_names",
    "labels_at",
    "logistic_regression",
    "partners",
    "sample_codes",
    "sample_indices",
    "entropy",
    "histogram_discretize",
    "mutual_info_matrix",
    "pearson_matrix",
    "standardise",
    "fit_classifiers",
    # a dataset
    "Dataset",
    "GroundTruthDataset",
    "LabelledDataset",
    "DatasetError",
    "Download",
    "ImageStore",
    "Uint8Images",
    "PackedBinaryImages",
    "CachedImages",
    "cached_array",
    "classes_from_values",
    "data_dir",
    "decode_into",
    "fingerprint",
    "nhwc_to_nchw",
    "npz_chunks",
    "npz_shape",
    "require_files",
    "NPZ_ROWS",
    # a study: its declaration, and what its report is built from (a ReportView hands it the run)
    "Study",
    "Published",
    "Section",
    "Table",
    "Column",
    "Claim",
    "verdict",
    "SIGNIFICANCE",
    "SUPPORTED",
    "NOT_SUPPORTED",
    "NOT_TESTABLE",
    "BOLD_RULE",
    "INTERVAL_RULE",
    "title_of",
    "heading",
    "shown_output",
    "beta_sweep",
    "dip_name",
    "superiority",
    "trend",
    "smallest_p",
]
