"""The sweep that guards the whole suite against unmasked ID numbers (see tests/sweep.py)
must itself find a number wherever one can hide, and stay quiet where none is."""

from __future__ import annotations

import logging
from sqlalchemy import Engine

from audit.notices.render import render_table as render
from tests.conftest import logged_in
from tests.sweep import SWEEP, full_cards, full_ids, texts_of

# A valid resident ID (check digit and birth date), a 19-digit card number that holds
# 18-digit runs, a USCC, and the masked form a notice prints.
ID_NUMBER = "430681195203041237"
CARD = "6228486856051067865"
USCC = "91430681W8WKMBYQ3F"
COLUMNS = ("姓名", "身份证号", "金额")


def test_a_full_id_or_card_number_is_found_and_nothing_else_is() -> None:
    assert full_ids(f"身份证号{ID_NUMBER}，") == [ID_NUMBER]
    assert full_ids(f"card {CARD}, unit {USCC}, notice 43*************237, 430681195203041238") == []
    assert full_cards(f"卡号{CARD}；") == [CARD]
    not_a_card = CARD[:-1] + str((int(CARD[-1]) + 1) % 10)  # fails the Luhn check
    assert full_cards(f"{ID_NUMBER} ***************7865 {not_a_card} 20180120") == []


def test_the_number_is_found_inside_csv_xlsx_and_pdf_exports() -> None:
    for fmt, content_type in (("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats"),
                              ("pdf", "application/pdf")):
        leaky = render("公示", COLUMNS, [("李四", ID_NUMBER, "390.00")], fmt)
        clean = render("公示", COLUMNS, [("李四", "43*************237", "390.00")], fmt)
        assert any(full_ids(text) for text in texts_of(content_type, leaky)), fmt
        assert not any(full_ids(text) for text in texts_of(content_type, clean)), fmt


def test_only_an_inspector_may_receive_one_and_logs_and_the_trail_never() -> None:
    body = f'{{"id_number": "{ID_NUMBER}", "card_account": "{CARD}"}}'.encode()
    SWEEP.response("GET", "/cases/1", "inspector", "application/json", body)
    assert SWEEP.take() == []
    for role in ("finance", "disclosure", "admin", None):
        SWEEP.response("GET", "/cases/1", role, "application/json", body)
        assert len(SWEEP.take()) == 1, role
    logging.getLogger("audit.test").warning("row 7: %s is not registered", ID_NUMBER)
    SWEEP.audit_entry(1, "import", "", {"errors": [ID_NUMBER]})
    assert len(SWEEP.take()) == 2


def test_an_error_may_quote_the_callers_own_number_back_but_a_success_may_not() -> None:
    body = f'{{"detail": "id_number {ID_NUMBER} is not registered"}}'.encode()
    sent = f'{{"id_number": "{ID_NUMBER}"}}'
    SWEEP.response("POST", "/records/card_payments", "finance", "application/json", body, 422, sent)
    assert SWEEP.take() == []
    SWEEP.response("POST", "/records/card_payments", "finance", "application/json", body, 422, "{}")
    assert len(SWEEP.take()) == 1  # a number the caller did not send
    SWEEP.response("POST", "/checks/card-roster", "finance", "application/json", body, 200, sent)
    assert len(SWEEP.take()) == 1  # a success never holds one, sent or not


def test_the_suite_routes_every_test_client_response_through_the_sweep(engine: Engine) -> None:
    client, headers = logged_in(engine, {"finance1": "finance"})
    before = SWEEP.responses
    assert client.get("/health").status_code == 200
    assert client.get("/api/checks/1", headers=headers["finance1"]).status_code == 404
    assert SWEEP.responses == before + 2

