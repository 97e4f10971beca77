"""The mixture stream: rates and shares, determinism, mid-stream resume, template choice and modes, errors."""

from __future__ import annotations

import collections

import pytest
from mixture_toys import toy_catalogue, write_toy_data

from flanlab.config import load_config
from flanlab.errors import FlanlabError
from flanlab.mixtures.config import MixtureConfig
from flanlab.mixtures.mixture import BLOCK, Mixture

TASKS = {"a": ("sentiment", "cls"), "b": ("summarization", "gen"), "c": ("paraphrase", "cls"),
         "d": ("misc", "cls"), "e": ("struct_to_text", "gen")}
SIZES = {"a": 60, "b": 25, "c": 12, "d": 30}  # e has no data at all


@pytest.fixture(scope="module")
def cat():
    return toy_catalogue(TASKS)


@pytest.fixture(scope="module")
def root(cat, tmp_path_factory):
    return write_toy_data(tmp_path_factory.mktemp("mirror"), cat, SIZES)


def mix(cat, root, **kw):
    kw.setdefault("holdout", ["misc"])
    kw.setdefault("holdout_tasks", ["e"])
    return Mixture(MixtureConfig(source="mirror", data_dir=str(root), cap=30, rate_max=25, **kw), cat)


def key(xs):
    return [(x.position, x.task, x.example_id, x.template_id, x.inputs, x.targets) for x in xs]


def test_rates_and_shares_hand_computed(cat, root):
    m = mix(cat, root)
    r = m.rates()
    # every 10th train row is carved off as dev: 60 -> 54, 25 -> 23, 12 -> 11 training examples
    assert {t: v["n"] for t, v in r.items()} == {"a": 30, "b": 23, "c": 11}  # a is cut at the cap (30)
    assert r["a"]["capped"] and not r["b"]["capped"]
    assert {t: v["rate"] for t, v in r.items()} == {"a": 25.0, "b": 23.0, "c": 11.0}
    assert r["a"]["share"] == pytest.approx(25 / 59) and r["c"]["share"] == pytest.approx(11 / 59)
    eq = mix(cat, root, scheme="equal").rates()
    assert all(v["share"] == pytest.approx(1 / 3) for v in eq.values())
    t2 = mix(cat, root, scheme="temperature", temperature=2.0).rates()
    assert t2["c"]["share"] == pytest.approx(11 ** .5 / (25 ** .5 + 23 ** .5 + 11 ** .5))


def test_observed_shares_follow_rates(cat, root):
    m = mix(cat, root)
    names, ids = m.task_ids(0, 20_000)
    counts = collections.Counter(names[i] for i in ids.tolist())
    for t, v in m.rates().items():
        assert abs(counts[t] / 20_000 - v["share"]) < 0.015


def test_same_seed_same_stream_other_seed_differs(cat, root):
    a, b = mix(cat, root, seed=3).take(200), mix(cat, root, seed=3).take(200)
    assert key(a) == key(b)
    assert key(mix(cat, root, seed=4).take(200)) != key(a)


@pytest.mark.parametrize("start", [1, 137, BLOCK - 3, BLOCK + 5])
def test_resume_mid_stream_gives_the_same_continuation(cat, root, start):
    full = mix(cat, root, seed=1).take(start + 40)
    resumed = list(mix(cat, root, seed=1).stream(start=start, stop=start + 40))
    assert key(resumed) == key(full[start:])
    assert resumed[0].position == start


def test_each_epoch_visits_every_pool_example_once(cat, root):
    xs = [x for x in mix(cat, root).take(400) if x.task == "c"]
    first = [x.example_id for x in xs[:11]]
    assert len(set(first)) == 11
    assert all(int(e.rsplit(":", 1)[1]) % 10 != 9 for e in first)  # dev rows never train
    assert set(x.example_id for x in xs[11:22]) == set(first)      # epoch 2: same pool, new order
    assert [x.example_id for x in xs[11:22]] != first


def test_template_choice(cat, root):
    xs = mix(cat, root).take(600)
    used = {(x.task, x.template_id) for x in xs}
    assert {("a", "01"), ("a", "02"), ("a", "03"), ("b", "01"), ("b", "02")} <= used
    for x in xs:
        if x.template_id == "03":  # turned around, only for label-0 rows ("when")
            assert x.turned and x.options is None and x.targets.startswith(x.task)
            assert int(x.example_id.rsplit(":", 1)[1]) % 2 == 0  # label = row % 2
    fixed = mix(cat, root, template_choice="fixed", template_id="02").take(50)
    assert {x.template_id for x in fixed} == {"02"}
    rr = [x.template_id for x in mix(cat, root, template_choice="round_robin").take(200) if x.task == "b"]
    assert rr[:6] == ["01", "02", "01", "02", "01", "02"]
    with pytest.raises(FlanlabError, match="template_id '07' .* not a template of task"):
        mix(cat, root, template_choice="fixed", template_id="07")


def test_template_skips_are_counted_not_silent(cat, root):
    m = mix(cat, root, template_choice="fixed", template_id="03", include=["a", "c"])  # 03: label-0 rows only
    xs = m.take(300)
    assert {x.template_id for x in xs} == {"03"}
    skipped = sum(m.stats.template_skipped.values())
    assert skipped > 0 and len(xs) + skipped == 300


def test_template_modes(cat, root):
    [x] = [x for x in mix(cat, root, template_mode="no_template").take(30) if x.task == "b"][:1]
    assert x.template_id == "no_template" and x.inputs.startswith("b") and "Summarize" not in x.inputs
    ys = [x for x in mix(cat, root, template_mode="dataset_name").take(30) if x.task == "a"]
    assert ys[0].inputs.startswith("[Toy: a] a") and ys[0].inputs.endswith("OPTIONS:\n- yes\n- no")


def test_plan_rows(cat, root):
    rows = {r["task"]: r for r in mix(cat, root).plan()}
    assert rows["a"]["status"] == "train" and rows["a"]["n"] == 30
    assert rows["d"]["status"] == "held out" and rows["d"]["reason"] == "in held-out cluster 'misc'"
    assert rows["e"]["status"] == "held out" and rows["e"]["reason"] == "held out by name"
    assert sum(r["share"] for r in rows.values() if r["share"]) == pytest.approx(1.0)


def test_missing_training_data(cat, root):
    with pytest.raises(FlanlabError, match="'e'.*missing_data=skip"):
        mix(cat, root, holdout_tasks=[]).rates()
    m = mix(cat, root, holdout_tasks=[], missing_data="skip")
    assert "e" not in m.rates()
    assert {r["task"]: r["status"] for r in m.plan()}["e"] == "skipped"


def test_counts_override_and_bad_config(cat, root, tmp_path):
    m = mix(cat, root, counts={"a": 1000, "b": 5})
    assert m.rates()["a"]["rate"] == 25.0 and m.rates()["b"]["rate"] == 5.0
    with pytest.raises(Exception, match="cap"):
        MixtureConfig(cap=0)
    cfg = tmp_path / "mix.yaml"
    cfg.write_text("cap: 0\n")
    with pytest.raises(FlanlabError, match="cap: Input should be greater than or equal to 1"):
        load_config(MixtureConfig, cfg)
    with pytest.raises(FlanlabError, match="seq_len \\(1000\\) must hold one example"):
        load_config(MixtureConfig, overrides=["seq_len=1000"])
    with pytest.raises(FlanlabError, match="few_shot.budget \\(2000\\) exceeds max_input_len"):
        load_config(MixtureConfig, overrides=["few_shot.enabled=true", "few_shot.budget=2000"])
    fs = MixtureConfig().few_shot
    assert (fs.enabled, fs.k, fs.budget) == (False, 16, 960)  # the paper's limits once enabled
    with pytest.raises(FlanlabError, match="unknown key 'holdot'"):
        load_config(MixtureConfig, overrides=["holdot=[nli]"])
    with pytest.raises(FlanlabError, match="the mixture is empty"):
        mix(cat, root, holdout=["misc", "sentiment", "summarization", "paraphrase"])
    with pytest.raises(FlanlabError, match="unknown cluster 'sentimnt'"):
        mix(cat, root, holdout=["sentimnt"])
    with pytest.raises(FlanlabError, match="stream position must be >= 0"):
        next(mix(cat, root).stream(start=-1))


def test_pool_index_is_cached(cat, root, monkeypatch):
    mix(cat, root).rates()
    import flanlab.mixtures.pool as pool

    def boom(*a, **k):
        raise AssertionError("the pool was streamed again")

    monkeypatch.setattr(pool, "iter_examples", boom)
    m = mix(cat, root)
    assert m.rates()["b"]["n"] == 23 and m.take(5)


# -- the CLI: plan, sample, export (round trip) -------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    """A --tasks-file with two toy tasks, their mirror data, and the options every command takes."""
    from mixture_toys import write_toy_tasks_file

    from flanlab.tasks import catalogue

    d = tmp_path_factory.mktemp("cli")
    f = write_toy_tasks_file(d / "toys.yaml")
    write_toy_data(d / "mirror", catalogue([f]), {"toy_a": 40, "toy_b": 30})
    opts = ["--tasks-file", str(f), "--data-dir", str(d / "mirror"), "--source", "mirror",
            "--set", "include=[toy_a,toy_b,nli]", "--seed", "5"]
    return d, f, opts


def run_cli(argv, capsys):
    import json

    from flanlab.cli import main

    code = main(argv)
    out = capsys.readouterr()
    err = " ".join(out.err.split())  # rich wraps long lines
    return code, (json.loads(out.out) if out.out.strip().startswith("{") else out.out), err


def test_cli_plan_json(cli_env, capsys):
    _, _, opts = cli_env
    code, doc, _ = run_cli(["mixture", "plan", "--holdout", "nli", "--json", *opts], capsys)
    assert code == 0
    rows = {r["task"]: r for r in doc["tasks"]}
    assert rows["toy_a"]["status"] == "train" and rows["toy_a"]["n"] == 36 and rows["toy_b"]["n"] == 27
    assert rows["toy_a"]["share"] == pytest.approx(36 / 63)
    para = [r for r in doc["tasks"] if r["cluster"] == "paraphrase"]
    assert para and all(r["status"] == "held out" and r["reason"].startswith("rule nli -> paraphrase")
                        for r in para)
    code, out, _ = run_cli(["mixture", "plan", "--holdout", "nli", *opts], capsys)
    assert code == 0 and "toy_a" in out and "held out" in out  # the table is on stdout (pipe into grep)


def test_cli_errors_exit_2(cli_env, capsys):
    _, _, opts = cli_env
    code, _, err = run_cli(["mixture", "plan", "--holdout", "nlii", *opts], capsys)
    assert code == 2 and "unknown cluster 'nlii'; did you mean: nli" in err
    code, _, err = run_cli(["mixture", "plan", "--set", "cap=0", *opts], capsys)
    assert code == 2 and "cap" in err


def test_cli_sample_and_export_round_trip(cli_env, capsys, tmp_path):
    import json

    import datasets

    from flanlab.config import load_config
    from flanlab.tasks import catalogue

    d, f, opts = cli_env
    code, _, err = run_cli(["mixture", "sample", "--n", "4", *opts], capsys)  # nli included, no data for it
    assert code == 2 and "training task" in err and "missing_data=skip" in err
    opts = [*opts, "--holdout", "nli"]
    code, doc, _ = run_cli(["mixture", "sample", "--n", "4", "--start", "10", "--json", *opts], capsys)
    assert code == 0 and [x["position"] for x in doc["examples"]] == [10, 11, 12, 13]
    out = tmp_path / "export"
    code, summary, _ = run_cli(["mixture", "export", "--out", str(out), "--n", "120", "--json", *opts], capsys)
    assert code == 0 and summary["examples"] == 120
    assert sum(v["produced"] for v in summary["shares"].values()) == pytest.approx(1.0)
    assert summary["shares"]["toy_a"]["planned"] == pytest.approx(36 / 63, abs=1e-5)
    rows = [json.loads(line) for line in (out / "mixture.jsonl").read_text().splitlines()]
    ds = datasets.load_from_disk(str(out / "dataset"))
    assert ds.num_rows == 120 and ds.column_names[:5] == ["inputs", "targets", "task", "cluster", "template_id"]
    assert ds.to_list() == rows
    cfg = load_config(MixtureConfig, out / "config.yaml")  # the run's resolved config rebuilds the same stream
    again = Mixture(cfg, catalogue([f])).take(120)
    assert [(r["inputs"], r["targets"], r["task"], r["template_id"]) for r in rows] == \
        [(x.inputs, x.targets, x.task, x.template_id) for x in again]
    assert json.loads((out / "run.json").read_text())["status"] == "finished"
    code, _, err = run_cli(["mixture", "export", "--out", str(out), "--n", "5", *opts], capsys)
    assert code == 2 and "finished" in err


def test_cli_pack_reports_truncation_and_efficiency(cli_env, capsys, tiny_llama_dir):
    _, _, opts = cli_env
    argv = ["mixture", "pack", "--n", "300", "--tokenizer", str(tiny_llama_dir), "--workers", "1", "--json", *opts,
            "--holdout", "nli", "--set", "max_input_len=16", "--set", "max_target_len=4", "--set", "seq_len=128"]
    code, doc, _ = run_cli(argv, capsys)
    assert code == 0 and doc["packed"] and doc["tokenization"]["examples"] == 300
    assert doc["tokenization"]["input_truncated"] > 0 and doc["tokenization"]["target_truncated"] > 0
    assert doc["packing"]["examples"] == 300 and doc["packing"]["efficiency"] > 0.9
    code, doc, _ = run_cli(argv, capsys)  # the second run reads the cache
    assert code == 0 and doc["chunks_built"] == 0


def test_rejected_rows_are_counted(cat, tmp_path):
    import json

    root = write_toy_data(tmp_path, cat, {"a": 20, "b": 20, "c": 20})
    f = root / "toy" / "a" / "default" / "train.jsonl"
    rows = [json.loads(line) for line in f.read_text().splitlines()]
    for r in rows[:4]:
        r["label"] = -1  # unlabelled: field_map's preprocess rejects it
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = mix(cat, root).rates()
    assert r["a"]["rejected"] == 4 and r["a"]["n"] == 18 - 4 and r["b"]["rejected"] == 0


def test_real_mirror_smoke(shared_hf, tiny_tok):
    """Real rows (the shared mirror has dev/test splits only: validation serves as train here)."""
    from flanlab.mixtures.packing import PackingStats
    from flanlab.mixtures.stream import rows as stream_rows
    from flanlab.tasks import catalogue

    cat = catalogue()
    want = [t for t in ("rte", "boolq", "copa") if t in cat.tasks]
    if not want:
        pytest.skip("none of rte, boolq, copa in the catalogue yet")
    cfg = MixtureConfig(source="mirror", data_dir=str(shared_hf), include=want, cap=500,
                        split_overrides={t: {"train": "validation"} for t in want})
    m = Mixture(cfg, cat)
    assert set(m.rates()) == set(want)
    pstats = PackingStats()
    rows = list(stream_rows(m, tiny_tok, stop=600, pstats=pstats))
    assert pstats.examples == 600 and pstats.efficiency > 0.9 and rows


def test_cli_plan_of_an_empty_mixture_shows_why_then_fails(cli_env, capsys):
    _, _, opts = cli_env
    argv = ["mixture", "plan", "--json", *opts, "--set", "include=[nli]", "--set", "missing_data=skip"]
    code, doc, err = run_cli(argv, capsys)
    assert code == 2 and "the mixture is empty" in err
    nli = [r for r in doc["tasks"] if r["cluster"] == "nli"]
    assert nli and all(r["status"] == "skipped" and "no file for split" in r["reason"] for r in nli)


# -- section 3.1: one mixing rate per dataset (the paper's 62), not per task ---------------------------------

def _paper_mix(**kw) -> Mixture:
    """The real catalogue, NLI held out, every task at 30,000 training examples (counts: no data read)."""
    from flanlab.tasks import catalogue

    cat = catalogue()
    return Mixture(MixtureConfig(holdout=["nli"], counts={t: 30_000 for t in cat.tasks}, **kw), cat)


def test_section_3_1_mixing_rate_maximum_applies_per_dataset_not_per_direction():
    """Paper section 3.1: examples-proportional mixing, at most 30k examples per *dataset* and a mixing rate
    maximum of 3k. A translation pair is one dataset whose examples go both ways, and ParaCrawl's three pairs
    are one dataset of the 62 (docs/protocol.md, "Mixing unit"): each gets one rate of 3k in all."""
    m = _paper_mix()
    r = m.rates()
    cat = m.cat
    assert r["wmt16_ro_en"]["rate"] == r["wmt16_en_ro"]["rate"] == 1500.0
    assert sum(v["rate"] for t, v in r.items() if cat.task(t).dataset_name == "paracrawl") == pytest.approx(3000.0)
    assert r["boolq"]["rate"] == 3000.0  # a dataset with one task keeps the whole rate
    datasets = {cat.task(t).dataset_name for t in r}
    per_dataset = {d: sum(v["rate"] for t, v in r.items() if cat.task(t).dataset_name == d) for d in datasets}
    assert set(per_dataset.values()) == {3000.0}  # every dataset here has >= 3k examples: equal shares
    clusters = m.cluster_shares()
    n_translation = len({cat.task(t).dataset_name for t in r if cat.task(t).cluster == "translation"})
    assert n_translation == 8
    assert clusters["translation"]["share"] == pytest.approx(n_translation / len(datasets))  # ~15%, not ~30%
    assert clusters["translation"]["share"] == pytest.approx(clusters["translation"]["paper_share"])
    assert 0.14 < clusters["translation"]["share"] < 0.17
    # the per-task unit (kept as an option) gives every direction its own 3k: about twice the paper's share
    per_task = _paper_mix(mixing_unit="task").cluster_shares()["translation"]
    assert per_task["share"] > 1.9 * per_task["paper_share"]
    assert per_task["paper_share"] == pytest.approx(clusters["translation"]["paper_share"])


def test_plan_shows_cluster_shares_next_to_the_papers(capsys):
    import yaml

    from flanlab.tasks import catalogue

    code, doc, _ = run_cli(["mixture", "plan", "--holdout", "nli", "--json", "--set",
                            "counts=" + yaml.safe_dump({t: 30_000 for t in catalogue().tasks}, default_flow_style=True).strip(),
                            "--set", "mixing_unit=task"], capsys)
    assert code == 0
    tr = doc["summary"]["clusters"]["translation"]
    assert tr["datasets"] == 8 and tr["tasks"] == 20 and tr["share"] > 1.9 * tr["paper_share"]
    code, out, _ = run_cli(["mixture", "plan", "--holdout", "nli", "--set", "counts={rte: 10, boolq: 10}",
                            "--set", "include=[boolq]"], capsys)
    out = " ".join(out.split())  # the tables are on stdout; rich wraps long lines
    assert code == 0 and "shares per cluster" in out and "reading_comprehension" in out and "100.0%" in out
