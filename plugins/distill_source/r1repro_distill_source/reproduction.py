"""The distillation-source experiment at CPU scale, one whole pipeline per seed.

Per seed: one problem set; three teachers' traces of it (`teachers`); their data statistics
(`stats`: token length mean / CV, structure rate, 20-gram redundancy, perplexity under a
reference LM SFT'd on an equal mix of all three); one student per teacher SFT'd from the same
random init on its teacher's traces; each student evaluated greedily on held-out problems of
every difficulty. Recorded per teacher arm (with per-problem items): ``accuracy``, ``length``,
``length_slope`` (tokens per difficulty level) and, per teacher's data, ``ref_ppl``.
"""

from __future__ import annotations

import random
from pathlib import Path

from r1repro.repro import stats as rstats
from r1repro.repro.base import Reproduction
from r1repro_distill_source.teachers import TEACHERS


def _mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else float("nan")


class DistillSourceReproduction(Reproduction):
    title = "Not All Correct Answers Are Equal: Why Your Distillation Source Matters"
    arxiv = "2505.14464"
    derived_arms = TEACHERS

    def run(self, run):
        from omegaconf import OmegaConf

        cfg = OmegaConf.to_container(run.cfg.distill, resolve=True)
        rows = {t: [] for t in TEACHERS}
        with run.phase("arms_s"):  # the students are this study's arms
            for seed in run.seeds:
                run.log(f"seed {seed}: teachers, reference LM, students")
                for t, row in self.run_seed(run, cfg, seed).items():
                    rows[t].append(row)

        def fmt(xs, d=3):
            return f"{rstats.mean(xs):.{d}f} ± {rstats.std(xs):.{d}f}" if xs else "n/a"

        keys = ["data_length", "data_cv", "ref_ppl", "structure", "redundancy", "accuracy", "length",
                "length_slope"]  # fmt: skip
        run.table("Teachers' data and their students (mean ± std over seeds)",
                  ["teacher", *keys],
                  [[t, *(fmt([r[k] for r in rows[t]], 2) for k in keys)] for t in TEACHERS],
                  note="data_*: the teacher's training traces (tokens); ref_ppl: their perplexity under a reference "
                  "LM SFT'd on an equal mix of all teachers; accuracy / length / length_slope: the student's "
                  "greedy outputs on held-out problems (slope in tokens per difficulty level).")  # fmt: skip

    def run_seed(self, run, cfg: dict, seed: int) -> dict[str, dict[str, float]]:
        from r1repro.models.sft import fixed_threads
        from r1repro.models.tiny import load_policy, load_tokenizer, resolve_model
        from r1repro_distill_source import stats, students, teachers

        seed_used = run.component_seed(seed, "distill")
        threads = int(cfg.get("threads", 1))
        train = teachers.problems(int(cfg["train_problems"]), seed_used, "train")
        test = teachers.problems(int(cfg["test_problems"]), seed_used, "test")
        traces = {
            t: [teachers.trace(p, t, random.Random(f"{t}-{seed_used}-{p.id}")) for p in train]
            for t in TEACHERS
        }
        out = Path(run.out_dir) / "models" / f"seed{seed}"
        init = resolve_model(cfg["model"], seed=seed_used)
        st = cfg["student"]
        # the reference LM: an equal share of every teacher's traces, different problems per teacher
        mix_idx = list(range(len(train)))
        random.Random(seed_used).shuffle(mix_idx)
        mix = [(train[i], traces[TEACHERS[j % len(TEACHERS)]][i]) for j, i in enumerate(mix_idx)]
        ref = students.train_student(init, [p for p, _ in mix], [r for _, r in mix], out / "reference",
                                     st["steps"], st["lr"], st["batch_size"], seed_used, threads)  # fmt: skip
        tok = load_tokenizer(None)
        result = {}
        with fixed_threads(threads):
            ref_model, ref_tok = load_policy(ref)
            for t in TEACHERS:
                drows = [stats.DistillRow(prompt=p.prompt, response=r, category=f"d{p.difficulty}", teacher=t,
                                          verify_score=1.0) for p, r in zip(train, traces[t])]  # fmt: skip
                sample = drows[: int(cfg["ppl_rows"])]
                ppl = stats.perplexity(ref_model, ref_tok, sample)
                lengths = [len(tok(r.response, add_special_tokens=False)["input_ids"]) for r in drows]
                ls = stats.length_stats(lengths)
                row = {"data_length": ls["mean"], "data_cv": ls["cv"], "ref_ppl": _mean(ppl),
                       "structure": stats.structure_rate(drows),
                       "redundancy": stats.ngram_redundancy(drows, tokenize=tok.tokenize)["share"]}  # fmt: skip
                run.record(
                    "ref_ppl", t, seed, row["ref_ppl"], items={f"train-{i}": v for i, v in enumerate(ppl)}
                )
                run.record(
                    "data_length", t, seed, ls["mean"], items={p.id: float(x) for p, x in zip(train, lengths)}
                )
                path = students.train_student(init, train, traces[t], out / t, st["steps"], st["lr"],
                                              st["batch_size"], seed_used, threads)  # fmt: skip
                model, stok = load_policy(path)
                ev = students.evaluate(model, stok, test, int(cfg["max_new_tokens"]))
                row["accuracy"] = _mean(ev["correct"].values())
                row["length"] = _mean(ev["length"].values())
                row["length_slope"] = students.slope([float(p.difficulty) for p in test],
                                                     [ev["length"][p.id] for p in test])  # fmt: skip
                run.record("accuracy", t, seed, row["accuracy"], items=ev["correct"])
                run.record("length", t, seed, row["length"], items=ev["length"])
                run.record("length_slope", t, seed, row["length_slope"])
                hard = [p for p in test if p.difficulty >= max(teachers.DIFFICULTIES) - 1]
                run.record("accuracy_hard", t, seed, _mean(ev["correct"][p.id] for p in hard),
                           items={p.id: ev["correct"][p.id] for p in hard})  # fmt: skip
                result[t] = row
        return result

    def report_notes(self, run) -> list[str]:
        return [
            "Teachers are generated (teachers.py), not LLMs; the paper's are AM-Thinking-v1, Qwen3-235B-A22B "
            "and DeepSeek-R1 on 1.89M real queries. Students: tiny Qwen2 models from random init, per seed.",
            "ref_ppl and data_length are decided by the trace generator (reported, not claimed as findings).",
        ]
