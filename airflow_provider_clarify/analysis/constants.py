"""Fixed vocabularies of SageMaker Clarify analysis configs (documented in ``docs/configs.md``).

Two families on purpose: what the SDK's *config classes* accept (case-sensitive, used by the
constructors) and what the analysis-config *schema v1.0* accepts (case-insensitive, used by
:mod:`.schema`). They differ: the schema also allows ``application/sagemakercapturejson`` as a dataset
type, and the classes allow ``image/jpg`` as a content type while the schema does not.
"""

from __future__ import annotations

# --- dataset types -------------------------------------------------------------------------------
CSV = "text/csv"
JSONLINES = "application/jsonlines"
JSON = "application/json"
PARQUET = "application/x-parquet"
IMAGE = "application/x-image"
CAPTURE_JSON = "application/sagemakercapturejson"

#: ``DataConfig(dataset_type=...)`` (SDK class, case-sensitive).
DATA_CONFIG_DATASET_TYPES: tuple[str, ...] = (CSV, JSONLINES, JSON, PARQUET, IMAGE)
#: Tabular dataset types (``predicted_label`` / ``excluded_columns`` allowed).
TABULAR_DATASET_TYPES: tuple[str, ...] = (CSV, JSONLINES, JSON, PARQUET)
#: ``dataset_type`` in the schema (case-insensitive).
SCHEMA_DATASET_TYPES: tuple[str, ...] = (CSV, JSONLINES, JSON, CAPTURE_JSON, PARQUET, IMAGE)

# --- predictor MIME types ------------------------------------------------------------------------
#: ``ModelConfig(accept_type=...)`` and the schema's ``predictor.accept_type``.
ACCEPT_TYPES: tuple[str, ...] = (CSV, JSONLINES, JSON)
#: ``ModelConfig(content_type=...)`` (SDK class; ``image/jpg`` passes here but not the schema).
MODEL_CONFIG_CONTENT_TYPES: tuple[str, ...] = (
    CSV,
    JSONLINES,
    JSON,
    "image/jpeg",
    "image/jpg",
    "image/png",
    "application/x-npy",
)
#: The schema's ``predictor.content_type``.
SCHEMA_CONTENT_TYPES: tuple[str, ...] = (CSV, JSONLINES, JSON, "image/jpeg", "image/png", "application/x-npy")

#: ``endpoint_name_prefix`` pattern; both the SDK class and the schema apply it with ``re.search``.
ENDPOINT_NAME_PREFIX_PATTERN = "^[a-zA-Z0-9](-*[a-zA-Z0-9])"

# --- explainability ------------------------------------------------------------------------------
#: The ``methods`` keys that explain a model (and so call it).
EXPLAINABILITY_METHODS: tuple[str, ...] = ("shap", "pdp", "asymmetric_shapley_value")
AGG_METHODS: tuple[str, ...] = ("mean_abs", "median", "mean_sq")
TEXT_GRANULARITIES: tuple[str, ...] = ("token", "sentence", "paragraph")
IMAGE_MODEL_TYPES: tuple[str, ...] = ("OBJECT_DETECTION", "IMAGE_CLASSIFICATION")

_LANGUAGE_PAIRS = (
    "chinese/zh danish/da dutch/nl english/en french/fr german/de greek/el italian/it japanese/ja "
    "lithuanian/lt multi-language/xx norwegian_bokmål/nb polish/pl portuguese/pt romanian/ro "
    "russian/ru spanish/es afrikaans/af albanian/sq arabic/ar armenian/hy basque/eu bengali/bn "
    "bulgarian/bg catalan/ca croatian/hr czech/cs estonian/et finnish/fi gujarati/gu hebrew/he "
    "hindi/hi hungarian/hu icelandic/is indonesian/id irish/ga kannada/kn kyrgyz/ky latvian/lv "
    "ligurian/lij luxembourgish/lb macedonian/mk malayalam/ml marathi/mr nepali/ne persian/fa "
    "sanskrit/sa serbian/sr setswana/tn sinhala/si slovak/sk slovenian/sl swedish/sv tagalog/tl "
    "tamil/ta tatar/tt telugu/te thai/th turkish/tr ukrainian/uk urdu/ur vietnamese/vi yoruba/yo"
)
#: ``TextConfig(language=...)``: each language name followed by its ISO code (``docs/configs.md``).
TEXT_LANGUAGES: tuple[str, ...] = tuple(
    part.replace("_", " ") for pair in _LANGUAGE_PAIRS.split() for part in pair.split("/")
)

# --- time series ---------------------------------------------------------------------------------
TIME_SERIES_DATASET_FORMATS: tuple[str, ...] = ("columns", "item_records", "timestamp_records")
ASV_DIRECTIONS: tuple[str, ...] = ("chronological", "anti_chronological", "bidirectional")
ASV_GRANULARITIES: tuple[str, ...] = ("timewise", "fine_grained")
ASV_TEMPORAL_BASELINES: tuple[str, ...] = ("zero", "mean")

# --- bias ------------------------------------------------------------------------------------------
PRE_TRAINING_METRICS: tuple[str, ...] = ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL")
POST_TRAINING_METRICS: tuple[str, ...] = (
    "DPPL",
    "DI",
    "DCA",
    "DCR",
    "RD",
    "SD",
    "DAR",
    "DRR",
    "AD",
    "CDDPL",
    "TE",
    "FT",
    "GE",
)

# --- processing inputs -----------------------------------------------------------------------------
S3_COMPRESSION_TYPES: tuple[str, ...] = ("None", "Gzip")

#: The report block the SDK always adds to ``methods`` (``docs/configs.md``).
REPORT_BLOCK: dict[str, str] = {"name": "report", "title": "Analysis Report"}

#: Default job-name bases per run kind (``docs/job-request.md#job-names``).
JOB_NAME_BASES: dict[str, str] = {
    "pre_training_bias": "Clarify-Pretraining-Bias",
    "post_training_bias": "Clarify-Posttraining-Bias",
    "bias": "Clarify-Bias",
    "explainability": "Clarify-Explainability",
    "bias_and_explainability": "Clarify-Bias-And-Explainability",
}
