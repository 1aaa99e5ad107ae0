"""The watch every browser test relies on must itself notice what it is there to catch."""
from tests.e2e.conftest import watch


def test_watch_reports_a_content_security_policy_violation(context):
    page = context.new_page()
    problems = watch(page)
    page.goto("/login")
    assert problems == []
    with page.expect_console_message(lambda message: "Content Security Policy" in message.text):
        page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">inline</p>')")
    assert len(problems) == 1 and problems[0].startswith("CSP violation on ")
