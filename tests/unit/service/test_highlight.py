from service.web.highlight import highlight


def test_metadata_terms_are_not_looked_for_in_the_text() -> None:
    text = "Please mention the emoji rule: shouting in 3+ links is rude."
    terms = ["mention", "emoji", "shouting", "3+ links", "tld:ru", "rude"]
    assert str(highlight(text, terms)) == (
        "Please mention the emoji rule: shouting in 3+ links is <mark>rude</mark>."
    )


def test_words_phrases_and_link_domains_are_marked_and_the_rest_escaped() -> None:
    text = "Cheap pills <b>now</b> at http://pills.example/buy"
    marked = str(highlight(text, ["cheap pills", "link:pills.example"]))
    assert marked == (
        "<mark>Cheap pills</mark> &lt;b&gt;now&lt;/b&gt; at http://<mark>pills.example</mark>/buy"
    )
