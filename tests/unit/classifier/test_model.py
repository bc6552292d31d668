from classifier import CommentInput, Registry, Scores, load_model

SPAM = CommentInput(
    "Great post! Buy cheap v1agra online, fast shipping http://bit.ly/3xYz9Qa",
    author_url="http://best-pharma-store.xyz",
)
HAM = CommentInput("I disagree with the author about the troop withdrawal, the sources are thin.")
TOXIC = CommentInput("Shut up, you pathetic idiot. Nobody asked for your opinion.")


def test_scores_are_probabilities_with_terms(registry: Registry, version: str) -> None:
    model = load_model(registry.path(version))
    spam, ham, toxic = model.score([SPAM, HAM, TOXIC])
    assert isinstance(spam, Scores)
    for scores in (spam, ham, toxic):
        assert all(0.0 <= v <= 1.0 for v in scores.as_dict().values())
    assert spam.spam > ham.spam
    assert toxic.toxicity > ham.toxicity
    assert 0 < len(spam.spam_terms) <= 5
    assert any("bit.ly" in t or "shortener" in t or "viagra" in t for t in spam.spam_terms)
    assert {"idiot", "pathetic", "shut up"} & set(toxic.toxicity_terms)


def test_batch_matches_single(registry: Registry, version: str) -> None:
    model = load_model(registry.path(version))
    batch = model.score([SPAM, HAM, TOXIC])
    single = [model.score([c])[0] for c in (SPAM, HAM, TOXIC)]
    for a, b in zip(batch, single, strict=True):
        assert abs(a.spam - b.spam) < 1e-6 and abs(a.toxicity - b.toxicity) < 1e-6


def test_empty_batch(registry: Registry, version: str) -> None:
    assert load_model(registry.path(version)).score([]) == []


def test_metadata_records_thresholds_data_and_hashes(registry: Registry, version: str) -> None:
    model = load_model(registry.path(version))
    for task in ("spam", "toxicity"):
        t = model.thresholds[task]
        assert 0.0 <= t["approve_below"] <= t["reject_at"] <= 1.0
    meta = model.metadata
    assert meta["version"] == version == model.version
    assert {f["role"] for f in meta["data_files"]} == {"train"}
    assert all(len(f["sha256"]) == 64 and f["rows"] > 0 for f in meta["data_files"])
    assert set(meta["dev_metrics"]) == {"spam", "toxicity"}
    assert "scikit-learn" in meta["libraries"]
    assert len(meta["files"]["model.npz"]) == 64
