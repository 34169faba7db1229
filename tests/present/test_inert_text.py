"""User text shown inside elements that read Markdown is escaped so that it reads as typed."""

import pytest

from analytics.present.formats import inert_markdown, plain


@pytest.mark.parametrize(("typed", "shown"), [
    ("A**1**", r"A\*\*1\*\*"),
    ("[x](javascript:alert(1))", r"\[x\]\(javascript\:alert\(1\)\)"),
    (":red[hi] :material/home:", r"\:red\[hi\] \:material\/home\:"),
    ("a_b # c", r"a\_b \# c"),
    ("back\\slash", r"back\\slash"),
    ("Plain words 12", "Plain words 12"),
    (None, ""),
])
def test_markdown_punctuation_is_escaped(typed, shown):
    assert inert_markdown(typed) == shown


def test_html_for_plotly_is_escaped():
    assert plain("<b>Kim</b> & co") == "&lt;b&gt;Kim&lt;/b&gt; &amp; co"


def test_homework_is_named_by_title_and_date_and_an_id_only_tells_twins_apart():
    from datetime import date

    import pandas as pd

    from analytics.present import tables
    current = pd.DataFrame({"assignment_id": ["A1", "A2", "A3"], "title": ["Body scan", "Body scan", "Walk"],
                            "due_on": [date(2026, 3, 3), date(2026, 3, 3), date(2026, 3, 4)]})
    assert tables.assignment_choices(current) == {"A1": "“Body scan” due 3 Mar 2026 (A1)",
                                                  "A2": "“Body scan” due 3 Mar 2026 (A2)",
                                                  "A3": "“Walk” due 4 Mar 2026"}
