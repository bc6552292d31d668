from dataclasses import asdict

from classifier.features import FeatureConfig, Featurizer, style_terms
from classifier.types import CommentInput

TWEET = "RT @someone: &#8220;look at this&#8221; #news\nsecond line \U0001f602"


def test_style_terms_mark_where_a_comment_was_written() -> None:
    assert style_terms(TWEET) == [
        "mention",
        "retweet",
        "hashtag",
        "html entity",
        "emoji",
    ]


def test_style_terms_leave_a_plain_comment_alone() -> None:
    text = "Write to me@example.com, item #1 costs 5 & more; AT&T agrees."
    assert style_terms(text) == []


def test_a_mention_without_a_retweet_is_only_a_mention() -> None:
    assert style_terms("@editor thanks, fixed the typo") == ["mention"]


def test_models_older_than_style_terms_featurize_without_them() -> None:
    settings = asdict(FeatureConfig())
    del settings["style_terms"]
    old = FeatureConfig.from_metadata(settings)
    assert not old.style_terms
    assert FeatureConfig.from_metadata(asdict(FeatureConfig())).style_terms
    comment = [CommentInput(content=TWEET)]
    meta_start = (1 << old.word_bits) + (1 << old.char_bits)
    with_style = Featurizer(FeatureConfig()).counts(comment)
    without = Featurizer(old).counts(comment)
    extra = set(with_style.indices) - set(without.indices)
    assert len(extra) == 5
    assert all(i >= meta_start for i in extra)


def test_raw_words_keep_what_normalizing_drops() -> None:
    featurizer = Featurizer(FeatureConfig())
    assert featurizer.tokens("Win £1000 now!") == featurizer.tokens("win 1000 now")
    pound, plain = featurizer.counts(
        [CommentInput(content="Win £1000 now!"), CommentInput(content="win 1000 now")]
    )
    meta_start = (1 << featurizer.config.word_bits) + (1 << featurizer.config.char_bits)
    differing = set(pound.indices) ^ set(plain.indices)
    assert any(i < meta_start for i in differing)
    found = featurizer.readable_terms([], ["£1000"], [], set(pound.indices) - set(plain.indices))
    assert {"£1000"} in found.values()


def test_models_older_than_raw_words_featurize_and_weigh_as_trained() -> None:
    settings = asdict(FeatureConfig())
    for newer in ("raw_char_min", "raw_char_max", "meta_scale"):
        del settings[newer]
    old = Featurizer(FeatureConfig.from_metadata(settings))
    assert old.config.raw_char_max == 0 and old.config.meta_scale == 0.5
    assert old.raw_words("Win £1000 now!") == []
    comment = CommentInput(content="Win £1000 now!")
    new = Featurizer(FeatureConfig())
    assert old.counts([comment]).nnz < new.counts([comment]).nnz
    counts = old.counts([comment])
    old.fit(counts)
    weighed = old.weigh(counts)
    meta_start = (1 << old.config.word_bits) + (1 << old.config.char_bits)
    meta_values = weighed.data[weighed.indices >= meta_start]
    assert len(meta_values) and set(meta_values.tolist()) == {0.5}
