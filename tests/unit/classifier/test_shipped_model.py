"""The model that ships with the package, loaded by the current code."""

import json

import pytest

from classifier import CommentInput, Registry, load_model
from classifier.model import METADATA_FILE, code_versions
from classifier.shipped import SHIPPED_MODEL, shipped_version

BLOG = {
    "legit": [
        "Awesome! You nailed it, very good read.",
        "Thanks for the summary. Do you have a source for the 60,000 troops figure?",
        "I disagree: the advisory role is real, and a sudden withdrawal would leave a vacuum.",
        "The Pentagon should get out of Iraq now. Enough killing.",
    ],
    "spam": [
        "Great article! Check out my site for cheap viagra and cialis http://cheap-pills.example.ru",
        "Make $500 a day working from home!!! Visit www.easy-money-now.biz",
    ],
    "toxic": [
        "You are a brainless idiot and everyone who reads this garbage is a moron.",
        "Shut up you stupid bitch, nobody cares what you think.",
    ],
}


@pytest.fixture(scope="module")
def shipped():
    return load_model(SHIPPED_MODEL)


def test_it_is_compact_complete_and_built_by_this_code(shipped) -> None:
    size = sum(p.stat().st_size for p in SHIPPED_MODEL.iterdir())
    assert size < 15 * 1024 * 1024
    assert shipped.version == shipped_version()
    assert shipped.metadata["code_versions"] == code_versions()
    names = {d["name"] for d in shipped.metadata["datasets"]}
    assert {"sms_spam", "youtube_spam", "datacamp_blog_spam", "davidson_hate_offensive"} <= names
    assert {"spam", "toxicity", "insult", "identity_attack", "profanity"} <= set(shipped.outputs)


def test_blog_comments_get_decisions_a_blog_owner_accepts(shipped) -> None:
    """Legitimate comments pass both approve thresholds; spam and abuse do not."""
    limits = shipped.thresholds
    for kind, texts in BLOG.items():
        scored = shipped.score([CommentInput(t) for t in texts])
        for text, scores in zip(texts, scored, strict=True):
            spam_ok = scores.spam < limits["spam"]["approve_below"]
            toxicity_ok = scores.toxicity < limits["toxicity"]["approve_below"]
            if kind == "legit":
                assert spam_ok and toxicity_ok, (text, scores.as_dict())
            else:
                assert not (spam_ok if kind == "spam" else toxicity_ok), (text, scores.as_dict())


FINE_TWEETS = [
    "RT @coach: Great game tonight, proud of this team http://t.co/a1b2c3",
    "RT @news: Storm closes the bridge until Monday http://t.co/x9y8z7",
    "@fan42 agreed, the second half was something else",
]


def test_fine_tweets_with_mentions_and_links_are_approved(shipped) -> None:
    """A retweet with a link is not spam for being one: the spam task learned the toxicity
    sets' fine comments, and its gate knows them as a data set of their own."""
    limits = shipped.thresholds
    comments = [CommentInput(t) for t in FINE_TWEETS]
    for text, scores, like in zip(
        FINE_TWEETS, shipped.score(comments), shipped.resemblance(comments), strict=True
    ):
        assert scores.spam < limits["spam"]["approve_below"], (text, scores.as_dict())
        assert scores.toxicity < limits["toxicity"]["approve_below"], (text, scores.as_dict())
        if "RT @" in text:
            assert next(iter(like["spam"])) == "borrowed", (text, like)


def test_default_thresholds_approve_most_legitimate_comments_of_every_set(shipped) -> None:
    """At the default thresholds at least 90% of each public set's legitimate dev comments are
    approved by their own score, and at most 0.5% rejected (the card's decision table)."""
    for task, sets in shipped.metadata["dev_decisions"].items():
        for name, decided in sets.items():
            legit = decided["own_score"]["legit"]
            assert legit["approved"] >= 0.9, (task, name, legit)
            assert legit["rejected"] <= 0.005, (task, name, legit)


def test_it_installs_into_an_empty_registry(tmp_path) -> None:
    registry = Registry(tmp_path / "models")
    version = registry.promote_if_none(registry.install(SHIPPED_MODEL))
    assert registry.active_version() == version == shipped_version()
    assert registry.install(SHIPPED_MODEL) == version  # a second install leaves it as it is
    meta = json.loads((registry.path(version) / METADATA_FILE).read_text())
    assert meta["files"] == json.loads((SHIPPED_MODEL / METADATA_FILE).read_text())["files"]
