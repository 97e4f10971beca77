"""Stage 1: the task catalogue (tasks, templates, clusters, data sources)."""

from .clusters import CLUSTERS, HOLDOUT_RULES, PAPER_CLUSTERS, Cluster, HoldoutRule
from .registry import Catalogue, catalogue
from .render import MODES, Rendered, options_block, render
from .sources import ROLES, SOURCES, count_examples, iter_examples
from .task import Source, SplitRoles, TaskSpec, field_map
from .templates import Template, TemplateError, TemplateSet

__all__ = ["CLUSTERS", "HOLDOUT_RULES", "PAPER_CLUSTERS", "Cluster", "HoldoutRule", "Catalogue", "catalogue",
           "MODES", "Rendered", "options_block", "render", "ROLES", "SOURCES", "count_examples",
           "iter_examples", "Source", "SplitRoles", "TaskSpec", "field_map", "Template", "TemplateError",
           "TemplateSet"]
