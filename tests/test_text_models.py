"""Week 7's helper: the generated sentences, MiniLM loaded offline, the shipped sentiment head, tiny BERTs."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from xaikit.sentences import ADJECTIVES, NEGATIVE_WORDS, NOUNS, PLACES, POSITIVE_WORDS, TIMES, make_sentiment_sentences
from xaikit.text_models import (
    TextClassifier,
    accuracy,
    encode,
    head_path,
    load_minilm,
    load_sentiment_classifier,
    reference_input_ids,
    sentiment_data,
    tiny_bert,
    tiny_text_classifier,
)

from weekly import one_thread  # noqa: E402,F401 - autouse fixture: torch on one thread


def test_every_word_of_the_generator_is_one_minilm_token():
    tokenizer, _ = load_minilm()
    words = POSITIVE_WORDS + NEGATIVE_WORDS + ADJECTIVES + NOUNS + PLACES + [w for t in TIMES for w in t.split()]
    assert [w for w in words if len(tokenizer.tokenize(w)) != 1] == []
    assert not set(POSITIVE_WORDS) & set(NEGATIVE_WORDS)


def test_sentences_are_seeded_labelled_by_their_one_sentiment_word():
    data = make_sentiment_sentences(200, random_state=4)
    again = make_sentiment_sentences(200, random_state=4)
    assert data.sentences == again.sentences and np.array_equal(data.labels, again.labels)
    assert data.sentences != make_sentiment_sentences(200, random_state=5).sentences
    for sentence, label, word, index in zip(data.sentences, data.labels, data.deciding_words, data.deciding_word_index):
        words = sentence.split()
        assert words[index] == word
        sentiment = [w for w in words if w in POSITIVE_WORDS + NEGATIVE_WORDS]
        assert sentiment == [word] and (word in POSITIVE_WORDS) == bool(label)
    assert len(set(data.deciding_word_index.tolist())) >= 4  # the deciding word moves around
    with pytest.raises(ValueError, match="n_samples"):
        make_sentiment_sentences(0)


def test_encode_locates_the_deciding_token_and_the_words():
    tokenizer, _ = load_minilm()
    data = make_sentiment_sentences(12, random_state=6)
    batch = encode(tokenizer, data.sentences, deciding_word_index=data.deciding_word_index)
    for i, word in enumerate(data.deciding_words):
        assert batch.tokens[i][batch.deciding[i]] == word
        assert batch.tokens[i][0] == "[CLS]" and batch.tokens[i][-1] == "[SEP]"
        assert batch.words[i].sum() == len(data.sentences[i].split()) == batch.lengths[i] - 2
    assert torch.equal(batch.attention_mask.sum(dim=1), torch.from_numpy(batch.lengths))


def test_minilm_loads_offline_with_eager_attention():
    tokenizer, model = load_minilm()
    assert load_minilm()[1] is model  # loaded once per process
    assert model.config._attn_implementation == "eager" and not model.training
    enc = tokenizer(["a short one", "a somewhat longer sentence here"], padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc, output_attentions=True)
    assert len(out.attentions) == 6 and out.attentions[0].shape == (2, 12, 7, 7)
    assert torch.all(out.attentions[0][0, :, :, 5:] == 0)  # padded keys get exactly zero weight


def test_classifier_accepts_embeddings_in_place_of_ids():
    model = tiny_text_classifier(3)
    ids = torch.tensor([[1, 5, 6, 7, 2], [1, 8, 2, 0, 0]])
    mask = (ids != 0).long()
    with torch.no_grad():
        assert torch.allclose(model(ids, mask), model(inputs_embeds=model.word_embeddings(ids), attention_mask=mask))
        # padding changes nothing: the mean runs over the real tokens only
        assert torch.allclose(model(ids[1:, :3], mask[1:, :3]), model(ids[1:], mask[1:]), atol=1e-6)
    assert isinstance(model, TextClassifier) and model.head.out_features == 3


def test_tiny_bert_is_seeded_and_eager():
    a, b = tiny_bert(7, n_heads=4, hidden_size=24), tiny_bert(7, n_heads=4, hidden_size=24)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert a.config._attn_implementation == "eager" and a.config.num_attention_heads == 4


def test_reference_input_ids_keeps_special_tokens_only():
    ids = torch.tensor([[101, 2307, 3185, 102, 0]])
    assert reference_input_ids(ids).tolist() == [[101, 0, 0, 102, 0]]
    assert reference_input_ids(ids, fill_id=103).tolist() == [[101, 103, 103, 102, 0]]


def _stated(root) -> tuple[float, str]:
    readme = (root / "xaikit" / "weights" / "README.md").read_text()
    accuracy_stated = re.search(r"^\| `minilm_sentiment_head\.pt` \|.*\| ([01]\.\d{3}) \|$", readme, flags=re.M)
    digest = re.search(r"^\| `minilm_sentiment_head\.pt` \| `([0-9a-f]{64})` \|$", readme, flags=re.M)
    return float(accuracy_stated.group(1)), digest.group(1)


def test_shipped_head_matches_its_checksum_and_accuracy(root):
    accuracy_stated, digest = _stated(root)
    assert hashlib.sha256(head_path().read_bytes()).hexdigest() == digest
    model, tokenizer = load_sentiment_classifier()
    assert accuracy(model, tokenizer, sentiment_data("test")) == pytest.approx(accuracy_stated, abs=0.0005)


@pytest.mark.slow
def test_retraining_the_head_reaches_the_stated_accuracy(root, tmp_path):
    out = tmp_path / "head.pt"
    result = subprocess.run([sys.executable, "-m", "xaikit.text_models", "--out", str(out)], capture_output=True,
                            text=True, check=True)
    measured = float(re.search(r"test accuracy ([01]\.\d{3})", result.stdout).group(1))
    assert measured >= _stated(root)[0] - 0.01
