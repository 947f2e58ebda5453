"""The project's tiny tokenizer: byte-level BPE with single-digit splitting and ChatML.

Built deterministically from a corpus this module generates (arithmetic, LaTeX answer
forms, the prompt phrases and tags the papers use), so no tokenizer is downloaded. It is
stored in ``shared_data/tokenizers/r1repro-tiny-bpe`` and rebuilt into the cache if that
folder is missing. Byte-level means any string, however broken, can be encoded.

The tags of the papers (``<think>``, ``<answer>``, ``<no_think>``, ``<search>``, ...) are
single, non-special tokens, like in Qwen2.5's tokenizer: they decode as text and a mode tag
is one token (HGPO puts its inter-mode advantage on exactly those tokens).
"""

from __future__ import annotations

import random
from pathlib import Path

NAME = "r1repro-tiny-bpe"
VOCAB_SIZE = 1024
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
TAG_TOKENS = [
    "<think>", "</think>", "<answer>", "</answer>", "<no_think>", "</no_think>",
    "<plan>", "</plan>", "<code>", "</code>", "<knowledge>", "</knowledge>",
    "<examples>", "</examples>", "<search>", "</search>", "<information>", "</information>",
    "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<step>", "</step>",
    "\\boxed{",
]  # fmt: skip
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_WORDS = (
    "Let's think step by step and output the final answer within boxed . Question : Answer the "
    "question and return in the following format Compute Simplify Find the value of what is "
    "solve for x y z n the sum product difference of and percent fraction decimal interval "
    "ratio probability mean median total number how many times each Please reason put your "
    "answer is The true false uncertain True False Yes No Final Decision correct incorrect "
    "first then so therefore because we have get check verify so the result equals plan code "
    "knowledge examples search information tool think no_think answer step mode easy hard "
    "User Assistant system user assistant A conversation between The assistant thinks about "
    "reasoning process in mind provides with tags math science history biology physics "
    "chemistry geography capital city country color animal"
).split()


def _corpus(seed: int = 0, n: int = 12000) -> list[str]:
    rng = random.Random(seed)
    lines: list[str] = []
    for _ in range(n):
        a, b, c = rng.randint(0, 999), rng.randint(1, 99), rng.randint(1, 12)
        kind = rng.randrange(10)
        if kind == 0:
            lines.append(f"Compute {a} + {b} * {c}. The answer is \\boxed{{{a + b * c}}}.")
        elif kind == 1:
            lines.append(f"\\frac{{{b}}}{{{c}}} = {b / c:.4g} = {100 * b / c:.3g}\\%")
        elif kind == 2:
            lines.append(f"x \\in [{-b}, {c}) \\cup ({a}, \\infty), x \\le {b}, x \\geq -{c}")
        elif kind == 3:
            lines.append(f"({b}, {c}), \\{{{a}, {b}\\}}, \\sqrt{{{b}}}, {c}\\pi, {b}^{{{c}}}, e^{{-{c}}}")
        elif kind == 4:
            words = rng.choices(_WORDS, k=rng.randint(6, 18))
            lines.append(" ".join(words))
        elif kind == 5:
            lines.append(f"<think>{a} - {b} = {a - b}</think><answer>{a - b}</answer>")
        elif kind == 6:
            lines.append(
                f"<|im_start|>user\nWhat is {a} * {c}?<|im_end|>\n<|im_start|>assistant\n{a * c}<|im_end|>"
            )
        elif kind == 7:
            lines.append(f"{a}.{b:02d} {a},{b:03d} {b}/{c} {-a} 0.{c}{b} 1e-{c} {a}:{b}")
        elif kind == 8:
            lines.append(f"f(x) = {b}x^{{2}} + {c}x - {a}, \\left( {b}, {c} \\right), \\dfrac{{{a}}}{{{b}}}")
        else:
            lines.append(f"<search>{rng.choice(_WORDS)} {rng.choice(_WORDS)}</search> Final Decision: Yes")
    return lines


def build_tokenizer(out_dir: Path, vocab_size: int = VOCAB_SIZE):
    """Train the tokenizer on the generated corpus and save it as a HF tokenizer folder."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in TAG_TOKENS])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
        model_max_length=2048,
    )
    fast.chat_template = CHAT_TEMPLATE
    out_dir.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(out_dir))
    return fast


if __name__ == "__main__":  # python -m r1repro.models.tokenizer  -> rebuild shared_data copy
    import sys

    from r1repro.paths import shared_data_dir

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else shared_data_dir() / "tokenizers" / NAME
    t = build_tokenizer(target)
    print(f"wrote {target} (vocab {len(t)})")
