"""Short review sentences whose label is decided by one known word.

Every sentence comes from a template filled with neutral words (nouns, colours, places,
times) and exactly **one** sentiment word, taken from a positive or a negative list. The
sentiment word alone decides the label, so an explanation of a classifier can be *scored*:
does it point at that word? The sentiment word sits at different positions in different
templates (first word, middle, last word), so a method that only looks at positions cannot
find it. All words are single WordPiece tokens of the BERT/MiniLM vocabulary (checked in
``tests/test_text_models.py``), so the deciding word is exactly one token.

Defined in week 7.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

__all__ = ["NEGATIVE_WORDS", "POSITIVE_WORDS", "TEMPLATES", "make_sentiment_sentences"]

POSITIVE_WORDS = ["great", "excellent", "wonderful", "lovely", "superb", "brilliant", "delightful", "fantastic",
                  "pleasant", "perfect", "amazing", "enjoyable", "charming", "splendid", "terrific"]
NEGATIVE_WORDS = ["awful", "terrible", "horrible", "dreadful", "poor", "bad", "boring", "disappointing",
                  "unpleasant", "dull", "miserable", "nasty", "rude"]
ADJECTIVES = ["old", "new", "small", "big", "red", "blue", "local", "french", "wooden", "tall", "round", "second",
              "large", "green", "modern", "busy"]
NOUNS = ["film", "movie", "meal", "dinner", "hotel", "room", "concert", "service", "book", "show", "trip",
         "lecture", "album", "game", "car", "cafe", "museum", "play", "garden"]
TIMES = ["last night", "yesterday", "this week", "on sunday", "today"]
PLACES = ["town", "city", "street", "village", "station"]

# {s} is the sentiment word; every other slot is neutral.
TEMPLATES = [
    "the {noun} was {s}",
    "the {adj} {noun} was really {s}",
    "we thought the {noun} was {s} {time}",
    "{s} {noun} and a {adj} {noun2}",
    "what a {s} {noun} that was",
    "my friend said the {adj} {noun} looked {s}",
    "the {noun} in the {adj} {place} felt {s} to us",
    "honestly a {s} {noun} {time}",
]


def make_sentiment_sentences(n_samples: int = 200, *, random_state: int = 0) -> Bunch:
    """Generate labelled sentences in which one known word decides the label.

    Parameters
    ----------
    n_samples : int
        Number of sentences.
    random_state : int
        Seed; the same seed gives the same sentences.

    Returns
    -------
    Bunch
        ``sentences`` list of str; ``labels`` int64 array (1 positive, 0 negative);
        ``deciding_words`` the sentiment word of each sentence; ``deciding_word_index`` its
        position among the sentence's words (``sentence.split()``); ``templates`` the index
        of the template used; ``class_names`` ``["negative", "positive"]``.

    Examples
    --------
    >>> data = make_sentiment_sentences(3, random_state=0)
    >>> len(data.sentences), data.labels.shape
    (3, (3,))
    >>> all(s.split()[i] == w for s, i, w in zip(data.sentences, data.deciding_word_index, data.deciding_words))
    True
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    rng = np.random.default_rng(random_state)
    sentences, labels, words, index, templates = [], [], [], [], []
    for _ in range(n_samples):
        label = int(rng.integers(2))
        word = str(rng.choice(POSITIVE_WORDS if label else NEGATIVE_WORDS))
        k = int(rng.integers(len(TEMPLATES)))
        template = TEMPLATES[k]
        slots = dict(noun=rng.choice(NOUNS), noun2=rng.choice(NOUNS), adj=rng.choice(ADJECTIVES),
                     time=rng.choice(TIMES), place=rng.choice(PLACES))
        # the position of the sentiment word among the words: fill the template with a marker first
        marked = template.format(s="\0", **slots).split()
        sentences.append(template.format(s=word, **slots))
        labels.append(label)
        words.append(word)
        index.append(marked.index("\0"))
        templates.append(k)
    return Bunch(sentences=sentences, labels=np.array(labels, dtype=np.int64), deciding_words=words,
                 deciding_word_index=np.array(index), templates=np.array(templates),
                 class_names=["negative", "positive"],
                 DESCR="Template sentences; exactly one word from POSITIVE_WORDS or NEGATIVE_WORDS decides the label.")
