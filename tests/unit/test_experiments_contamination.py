"""N-gram overlap between evaluation examples and the tuning mixture."""

from __future__ import annotations

from flanlab.experiments.contamination import NgramIndex, check_task, example_text, ngrams, overlap, words

LONG = "the quick brown fox jumps over the lazy dog while the farmer watches from a wooden porch"


def test_words_lowercase_and_drop_punctuation():
    assert words("A man, a Plan! It's 3pm_ok") == ["a", "man", "a", "plan", "it", "s", "3pm", "ok"]


def test_ngrams_count_and_stability():
    assert len(ngrams(LONG, 13)) == len(words(LONG)) - 12
    assert ngrams(LONG, 13) == ngrams(LONG.upper() + "!", 13)  # case and punctuation do not matter
    assert ngrams("too short", 13) == set()


def test_overlap_finds_the_source_task_and_flags_short_texts():
    idx = NgramIndex(n=13)
    idx.add_text("sst2", "Review: " + LONG + ". Great!")
    idx.add_text("copa", "an entirely different sentence about cooking rice in a pot on a stove at night today")
    assert overlap(idx, "Premise: " + LONG.upper()) == {"sst2": 5}  # every 13-gram of LONG is shared
    assert overlap(idx, "nothing in common with anything that was indexed before in the tuning data at all") == {}
    assert overlap(idx, "a short premise") is None


def test_example_text_uses_data_fields_only():
    ex = {"id": "rte:train:3", "label": 1, "premise": "P.", "hypothesis": "H.", "options": ["yes", "no"]}
    assert example_text(ex) == "P.\nH.\nyes\nno"


def test_check_task_summary():
    idx = NgramIndex(n=5)
    idx.add_examples("train_task", [{"text": "one two three four five six"}])
    rows = [{"id": "a", "premise": "zero one two three four five"}, {"id": "b", "premise": "seven eight nine ten eleven"},
            {"id": "c", "premise": "tiny"}]
    r = check_task(idx, "rte", iter(rows))
    assert (r["examples"], r["checked"], r["too_short"], r["contaminated"]) == (3, 2, 1, 1)
    assert r["fraction"] == 0.5 and r["sources"] == {"train_task": 1} and r["samples"][0]["id"] == "a"
    assert r["tuned_on_task"] is False
