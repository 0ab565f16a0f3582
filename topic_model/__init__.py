"""Topic of a citizen's text (issue 14, point 2): a headless classifier of contacts' texts.

Trained on what the centre already has — knowledge-base articles with their topics and past
contacts' texts with the topic operators gave them — it predicts the top-level topic of a
text and, through the routing table (`ekc_core.routing.RoutingTable`), the operator group,
with a probability. Imports only the standard library, numpy, scikit-learn, `ekc_core` and
`kb_index` (its Russian lemmatiser); the backend stores and serves the models
(`ekc_server.services.topic_models`), `bench/topic_classifier.py` measures them.
"""

from topic_model.data import Sample, labelled_texts, read_labelled, top_level
from topic_model.evaluate import Scores, evaluate
from topic_model.model import Guess, TopicModel, train

__all__ = [
    "Guess",
    "Sample",
    "Scores",
    "TopicModel",
    "evaluate",
    "labelled_texts",
    "read_labelled",
    "top_level",
    "train",
]
