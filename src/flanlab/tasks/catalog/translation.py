"""Translation: ParaCrawl EN/DE, EN/ES, EN/FR; WMT-14 EN/FR; WMT-16 EN/CS, EN/DE, EN/FI, EN/RO, EN/RU, EN/TR.

    python -c "import flanlab.tasks as t; print([x.name for x in t.catalogue().tasks_in('translation')])"

Each language pair gives two tasks, one per direction (`wmt16_ro_en`, `wmt16_en_ro`), built by `pair_tasks`
from one row source and one shared template set (`templates/translation.yaml`). A Hub row holds both sides:

    {"translation": {"ro": "Pisica doarme.", "en": "The cat is sleeping."}}
    -> wmt16_ro_en: {"source_lang": "Romanian", "target_lang": "English", "source": "Pisica doarme.",
                     "target": "The cat is sleeping."}

The reverse direction is a task of its own, so no template turns a task around (`turnable=False`). Both
directions share one `dataset` (`wmt16_en_ro`), and the dataset, not the task, is the unit that gets a mixing
rate (`MixtureConfig.mixing_unit`): in FLAN a language pair is one task whose examples go both ways, so the
pair gets one rate of at most 3k, split evenly between its directions. ParaCrawl's three pairs (EN/DE, EN/ES,
EN/FR) are one dataset of the paper's 62 (Figure 3 counts 8 translation datasets), so all six ParaCrawl
tasks share one rate; docs/protocol.md, "Mixing unit".
"""

from __future__ import annotations

from collections.abc import Callable

from ..task import Row, Source, SplitRoles, TaskSpec

LANGUAGES = {"en": "English", "cs": "Czech", "de": "German", "es": "Spanish", "fi": "Finnish", "fr": "French",
             "ro": "Romanian", "ru": "Russian", "tr": "Turkish"}

# WMT ships train, validation (a development set: newsdev/an earlier newstest) and test (the year's newstest):
# test is labelled, so it serves as test (as GPT-3 and the paper report), and validation as dev.
WMT_SPLITS = SplitRoles(train="train", dev="validation", test="test")
# ParaCrawl has a train split only: dev is carved from it, and the test role reads the same split. The paper
# evaluates translation on WMT only; score ParaCrawl only when translation is held out of training.
PARACRAWL_SPLITS = SplitRoles(train="train", dev="train", test="train")


def translation_fields(source: str, target: str) -> Callable[[Row], Row | None]:
    """The preprocess for one direction: picks the two sides of `row["translation"]` by language code.

    >>> translation_fields("de", "en")({"translation": {"de": "Guten Morgen.", "en": "Good morning."}})
    {'source_lang': 'German', 'target_lang': 'English', 'source': 'Guten Morgen.', 'target': 'Good morning.'}
    """
    source_lang, target_lang = LANGUAGES[source], LANGUAGES[target]

    def preprocess(row: Row) -> Row | None:
        pair = row["translation"]
        src, tgt = str(pair[source]).strip(), str(pair[target]).strip()
        if not src or not tgt:
            return None  # an empty side (crawled corpora have some) is no translation example
        return {"source_lang": source_lang, "target_lang": target_lang, "source": src, "target": tgt}

    preprocess.__qualname__ = f"translation_fields({source!r}, {target!r})"
    return preprocess


def pair_tasks(prefix: str, title: str, lang: str, source: Source, splits: SplitRoles, dataset: str,
               corpus: str) -> list[TaskSpec]:
    """Both directions of English <-> `lang`: `<prefix>_<lang>_en` and `<prefix>_en_<lang>`."""
    tasks = []
    for src, tgt in ((lang, "en"), ("en", lang)):
        direction = f"{LANGUAGES[src]} to {LANGUAGES[tgt]}"
        tasks.append(TaskSpec(
            name=f"{prefix}_{src}_{tgt}", cluster="translation", source=source,
            preprocess=translation_fields(src, tgt), fields=("source_lang", "target_lang", "source"),
            metrics=("bleu",), splits=splits, display=f"Translation: {title} {direction}",
            description=f"{corpus}: translate {direction}.", template_set="translation", dataset=dataset,
            turnable=False))
    return tasks


def _wmt16(lang: str) -> list[TaskSpec]:
    return pair_tasks("wmt16", "WMT-16", lang, Source("wmt/wmt16", f"{lang}-en"), WMT_SPLITS, f"wmt16_en_{lang}",
                      "WMT-16 news translation (newstest2016 as test)")


def _paracrawl(lang: str) -> list[TaskSpec]:
    # ParaCrawl/para_crawl is the Hub home of the TFDS `para_crawl` corpus the paper used (configs ende, enes,
    # enfr; rows {"translation": {"en": ..., "de": ...}}). All three pairs count as one dataset, as in the paper
    # (62 datasets), and so share one mixing rate (see the module docstring).
    # It is a loading-script dataset on the Hub, which recent `datasets` releases may refuse: use a local mirror.
    return pair_tasks("paracrawl", "ParaCrawl", lang, Source("ParaCrawl/para_crawl", f"en{lang}"), PARACRAWL_SPLITS,
                      "paracrawl", "ParaCrawl web-crawled parallel sentences")


TASKS = [
    *(t for lang in ("de", "es", "fr") for t in _paracrawl(lang)),
    *pair_tasks("wmt14", "WMT-14", "fr", Source("wmt/wmt14", "fr-en"), WMT_SPLITS, "wmt14_en_fr",
                "WMT-14 news translation (newstest2014 as test)"),
    *(t for lang in ("cs", "de", "fi", "ro", "ru", "tr") for t in _wmt16(lang)),
]
